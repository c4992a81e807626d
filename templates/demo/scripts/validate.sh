#!/bin/sh
# ValidateService: the live release answers.
"$PIPELINE_DEPLOY_TARGET/current/hello"
