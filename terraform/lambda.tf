################################################################################
# The two functions, reachable only through CloudFront: their function URLs
# take AWS_IAM, CloudFront signs each origin request with Origin Access
# Control, and only this distribution may invoke them.
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' own key; the functions never log key material or credentials (DESIGN invariant 5).
  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_115:Reserved concurrency is left unset: a fresh account (concurrency quota 10) refuses any reservation, and CloudFront caching bounds the load.
  #checkov:skip=CKV_AWS_116:Invoked synchronously through the function URL only; a dead-letter queue applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Reaches only S3 and Secrets Manager over public AWS endpoints; a VPC would add NAT or endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_173:The environment holds only ARNs, ids and settings, never a secret (the key is read from Secrets Manager).
  #checkov:skip=CKV_AWS_272:The zip comes from this repository's reproducible build (source_code_hash pins it); no signing profile in a fresh account.
  #checkov:skip=CKV_AWS_50:X-Ray would need xray:PutTraceSegments on resource "*", which the no-wildcard policy forbids; JSON logs carry request ids.
  for_each = local.functions

  function_name = "${var.name_prefix}-${each.key}"
  description   = "signed-hls ${var.name_prefix}: ${each.key}"
  role          = aws_iam_role.function[each.key].arn

  filename         = "${local.zip_dir}/${each.key}/bootstrap.zip"
  source_code_hash = filebase64sha256("${local.zip_dir}/${each.key}/bootstrap.zip")
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]

  memory_size = each.value.memory_size
  timeout     = each.value.timeout

  environment {
    variables = each.value.environment
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.function]
}

resource "aws_lambda_function_url" "this" {
  for_each = local.functions

  function_name      = aws_lambda_function.this[each.key].function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "BUFFERED"
}

# Since October 2025 a function URL needs both lambda:InvokeFunctionUrl and
# lambda:InvokeFunction (the latter flagged "invoked via function URL"), each
# granted to CloudFront for this distribution only.
resource "aws_lambda_permission" "cloudfront_invoke_url" {
  for_each = local.functions

  statement_id           = "AllowCloudFrontInvokeFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this[each.key].function_name
  principal              = "cloudfront.amazonaws.com"
  source_arn             = aws_cloudfront_distribution.this.arn
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "cloudfront_invoke_function" {
  for_each = local.functions

  statement_id             = "AllowCloudFrontInvokeFunctionViaUrl"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this[each.key].function_name
  principal                = "cloudfront.amazonaws.com"
  source_arn               = aws_cloudfront_distribution.this.arn
  invoked_via_function_url = true
}
