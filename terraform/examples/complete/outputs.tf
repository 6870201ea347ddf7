output "signurl_url" {
  description = "GET <signurl_url>?movie=<id> returns a signed playlist URL."
  value       = module.signed_hls.signurl_url
}

output "cloudfront_domain_name" {
  description = "Domain name of the distribution."
  value       = module.signed_hls.cloudfront_domain_name
}

output "bucket_name" {
  description = "Media bucket: upload HLS below movies/."
  value       = module.signed_hls.bucket_name
}

output "key_group_id" {
  description = "Key group trusted on playlists and segments."
  value       = module.signed_hls.key_group_id
}

output "public_key_id" {
  description = "Key-Pair-Id of the signing key."
  value       = module.signed_hls.public_key_id
}

output "public_key_pem" {
  description = "PEM of the signing public key (keep it for the next rotation)."
  value       = module.signed_hls.public_key_pem
}
