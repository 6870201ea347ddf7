variable "region" {
  description = "AWS region of the bucket and the functions (CloudFront itself is global)."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every named resource; use a different one per stack in the same account."
  type        = string
  default     = "signed-hls-demo"
}

variable "private_key_file" {
  description = "PEM private key to sign with, or null to let Terraform generate one (kept in the state)."
  type        = string
  default     = null
}

variable "public_key_file" {
  description = "PEM public key matching private_key_file, or null."
  type        = string
  default     = null
}

variable "additional_public_keys" {
  description = "Extra trusted public keys (name => PEM) during a key rotation."
  type        = map(string)
  default     = {}
}

variable "lambda_zip_dir" {
  description = "Folder with signurl/bootstrap.zip and rewriter/bootstrap.zip; null for <repository>/target/lambda."
  type        = string
  default     = null
}

variable "cors_allowed_origins" {
  description = "Browser origins of the web player, for CORS."
  type        = list(string)
  default     = ["https://player.example.com"]
}

variable "aliases" {
  description = "Custom domain names of the distribution (need acm_certificate_arn)."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate in us-east-1 for the aliases, or null."
  type        = string
  default     = null
}
