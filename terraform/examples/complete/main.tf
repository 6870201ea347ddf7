provider "aws" {
  region = var.region
}

module "signed_hls" {
  source = "../.."

  name_prefix = var.name_prefix

  # Bring your own key (recommended: the private key then never enters the
  # state). Leave both null to let Terraform generate one instead.
  private_key_file = var.private_key_file
  public_key_file  = var.public_key_file
  key_algorithm    = "ECDSA"

  # During a rotation: the next key before the switch, the previous one after.
  additional_public_keys = var.additional_public_keys

  # The zips from `make build` (default: <repository>/target/lambda).
  lambda_zip_dir = var.lambda_zip_dir

  media_prefix          = "movies/"
  playlist_key_template = "movies/movie_{movie}/index.m3u8"
  url_ttl_seconds       = 21600
  hash_algorithm        = "sha256"
  rewrite_mode          = "resign"
  bind_viewer_ip        = false

  cors_allowed_origins = var.cors_allowed_origins
  aliases              = var.aliases
  acm_certificate_arn  = var.acm_certificate_arn
  price_class          = "PriceClass_100"

  enable_access_logs = true
  force_destroy      = true

  tags = {
    Project = "signed-hls"
    Stack   = var.name_prefix
  }
}
