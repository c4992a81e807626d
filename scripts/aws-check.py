#!/usr/bin/env python3
"""Checks what git-pipeline prints and accepts against AWS's own machine-readable models.

    aws-check.py output SHAPE [FILE]   JSON (a file, else stdin) against an output shape of botocore's
                                       CodePipeline model (GetPipelineExecutionOutput, ...), plus the
                                       members git-pipeline adds (EXTENSIONS below, the README's list)
    aws-check.py declaration FILE      a pipeline declaration (JSON: {"pipeline": ...} as
                                       get-pipeline prints it, or the declaration alone) against
                                       CreatePipeline's input, with botocore's own validator
    aws-check.py template FILE         a CloudFormation template with cfn-lint: its errors (E*)
    aws-check.py events [FILE]         EventBridge events, one JSON object per line (`events --json`),
                                       against CodePipeline's documented event shapes (no model has them)

Exit 0 when it conforms; 1 with one line per finding (a JSON path and what is wrong); 2 on bad usage.
Run with the project's virtualenv (.build/aws-venv/bin/python), which `make deps` makes.

An output conforms when every member AWS's shape names has the shape's type (and enum value), every
required member is there, and every other member is one of git-pipeline's documented additions:
a member with a wrong name for an AWS member (rollbackTargetPipelineExecution for
rollbackTargetPipelineExecutionId) is what this catches, since botocore's parser silently drops it.
"""
import datetime
import difflib
import json
import subprocess
import sys

import botocore.session
import botocore.validate

MODEL = botocore.session.get_session().get_service_model("codepipeline")
SHAPES = MODEL._shape_resolver._shape_map  # name -> the model's shape definition (a dict)

# git-pipeline's additions, per AWS shape: member -> None (ours, free-form) or the AWS shape its value
# has ("list:StageState": a list of them). The README lists them under "Our additions to the JSON".
EXTENSIONS = {
    "GetPipelineExecutionOutput": {"stageStates": "list:StageState", "pipelineExecutionSummary": "PipelineExecutionSummary"},
    "PipelineExecution": {"pipelineExecutionNumber": None, "ref": None, "definitionPath": None, "definitionErrors": None,
                          "artifacts": None},
    "PipelineExecutionSummary": {"pipelineName": None, "pipelineExecutionNumber": None},
    "GetPipelineStateOutput": {"deployments": None},
    "StageExecution": {},
    "ActionExecution": {"attempt": None, "logPath": None, "testReport": None, "outputVariables": None},
    "StageState": {},
}


class Checker:
    def __init__(self):
        self.findings = []

    def fail(self, path, message):
        self.findings.append("%s: %s" % (path or "$", message))

    def check(self, value, shape_name, path):
        shape = SHAPES[shape_name]
        kind = shape["type"]
        if kind == "structure":
            self.structure(value, shape_name, shape, path)
        elif kind == "list":
            if not isinstance(value, list):
                return self.fail(path, "a list (%s) expected, found %s" % (shape_name, type(value).__name__))
            for index, item in enumerate(value):
                self.check(item, shape["member"]["shape"], "%s[%d]" % (path, index))
        elif kind == "map":
            if not isinstance(value, dict):
                return self.fail(path, "an object (map %s) expected, found %s" % (shape_name, type(value).__name__))
            for key, item in value.items():
                self.check(item, shape["value"]["shape"], "%s.%s" % (path, key))
        elif kind == "string":
            if not isinstance(value, str):
                return self.fail(path, "a string (%s) expected, found %s" % (shape_name, json.dumps(value)))
            if "enum" in shape and value not in shape["enum"]:
                self.fail(path, "%s is not a %s: one of %s" % (json.dumps(value), shape_name, ", ".join(shape["enum"])))
            if "min" in shape and len(value) < shape["min"]:
                self.fail(path, "%s shorter than %s's minimum %d" % (json.dumps(value), shape_name, shape["min"]))
            if "max" in shape and len(value) > shape["max"]:
                self.fail(path, "%s longer than %s's maximum %d" % (json.dumps(value)[:60], shape_name, shape["max"]))
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                return self.fail(path, "an integer (%s) expected, found %s" % (shape_name, json.dumps(value)))
            if "min" in shape and value < shape["min"]:
                self.fail(path, "%d below %s's minimum %d" % (value, shape_name, shape["min"]))
        elif kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, "a number (%s) expected, found %s" % (shape_name, json.dumps(value)))
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.fail(path, "true or false (%s) expected, found %s" % (shape_name, json.dumps(value)))
        elif kind == "timestamp":
            # The service sends epoch seconds; the CLI prints ISO 8601: botocore's parser takes both.
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                return self.fail(path, "a timestamp expected, found %s" % json.dumps(value))
            if isinstance(value, str):
                try:
                    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    self.fail(path, "%s is not an ISO 8601 timestamp" % json.dumps(value))
        elif kind == "blob":
            if not isinstance(value, str):
                self.fail(path, "a base64 string expected")

    def structure(self, value, shape_name, shape, path):
        if not isinstance(value, dict):
            return self.fail(path, "an object (%s) expected, found %s" % (shape_name, type(value).__name__))
        members = shape.get("members", {})
        ours = EXTENSIONS.get(shape_name, {})
        for name in shape.get("required", []):
            if name not in value:
                self.fail(path, "%s's required member %s is missing" % (shape_name, name))
        for name, item in value.items():
            where = "%s.%s" % (path, name) if path else name
            if name in members:
                if item is not None:
                    self.check(item, members[name]["shape"], where)
            elif name in ours:
                kind = ours[name]
                if kind and kind.startswith("list:"):
                    if not isinstance(item, list):
                        self.fail(where, "a list of %s expected" % kind[5:])
                    else:
                        for index, element in enumerate(item):
                            self.check(element, kind[5:], "%s[%d]" % (where, index))
                elif kind:
                    self.check(item, kind, where)
            else:
                close = difflib.get_close_matches(name, list(members), n=1, cutoff=0.6)
                hint = " (AWS's member is %s)" % close[0] if close else ""
                self.fail(where, "%s has no member %s%s, and it is not one of git-pipeline's documented additions" % (shape_name, name, hint))


# CodePipeline's events as its user guide documents them ("Monitoring CodePipeline events", the
# examples of each detail-type): the envelope, then the detail's members and their JSON types.
DETAIL_TYPES = {
    "CodePipeline Pipeline Execution State Change": {"STARTED", "STOPPING", "STOPPED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "SUPERSEDED"},
    "CodePipeline Stage Execution State Change": {"STARTED", "STOPPING", "STOPPED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED"},
    "CodePipeline Action Execution State Change": {"STARTED", "SUCCEEDED", "FAILED", "ABANDONED", "CANCELED"},
}
CLOUDTRAIL = "AWS API Call via CloudTrail"


def is_uuid(text):
    import re
    return isinstance(text, str) and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text) is not None


def check_event(event, where, checker):
    def need(obj, key, kinds, path):
        if not isinstance(obj, dict) or key not in obj:
            checker.fail(path, "missing %s" % key)
            return None
        value = obj[key]
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            checker.fail("%s.%s" % (path, key), "a %s expected, found %s" % (getattr(kinds, "__name__", kinds), json.dumps(value)[:80]))
            return None
        return value
    if need(event, "version", str, where) != "0":
        checker.fail(where + ".version", 'EventBridge\'s envelope version is "0"')
    if not is_uuid(event.get("id")):
        checker.fail(where + ".id", "a UUID expected, found %s" % json.dumps(event.get("id")))
    detail_type = need(event, "detail-type", str, where)
    if need(event, "source", str, where) != "aws.codepipeline":
        checker.fail(where + ".source", "aws.codepipeline expected")
    need(event, "account", str, where)
    need(event, "region", str, where)
    time = need(event, "time", str, where)
    if time:
        try:
            datetime.datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            checker.fail(where + ".time", "not ISO 8601: %s" % time)
    resources = need(event, "resources", list, where)
    detail = need(event, "detail", dict, where)
    if detail_type == CLOUDTRAIL or detail is None:
        return
    if detail_type not in DETAIL_TYPES:
        return checker.fail(where + ".detail-type", "%s is none of CodePipeline's" % detail_type)
    if not resources or not all(isinstance(r, str) and r.startswith("arn:") for r in resources):
        checker.fail(where + ".resources", "the pipeline's ARN expected, found %s" % json.dumps(resources))
    path = where + ".detail"
    need(detail, "pipeline", str, path)
    if not is_uuid(detail.get("execution-id")):
        checker.fail(path + ".execution-id", "the execution's UUID expected")
    need(detail, "start-time", str, path)
    state = need(detail, "state", str, path)
    if state and state not in DETAIL_TYPES[detail_type]:
        checker.fail(path + ".state", "%s is not a state of %s" % (state, detail_type))
    need(detail, "version", (int, float), path)
    need(detail, "pipeline-execution-attempt", (int, float), path)
    if detail_type.startswith("CodePipeline Pipeline"):
        trigger = need(detail, "execution-trigger", dict, path)
        if trigger:
            kind = need(trigger, "trigger-type", str, path + ".execution-trigger")
            if kind and kind not in SHAPES["TriggerType"]["enum"]:
                checker.fail(path + ".execution-trigger.trigger-type", "%s is not a TriggerType" % kind)
            need(trigger, "trigger-detail", str, path + ".execution-trigger")
    if detail_type.startswith("CodePipeline Stage") or detail_type.startswith("CodePipeline Action"):
        need(detail, "stage", str, path)
    if detail_type.startswith("CodePipeline Action"):
        need(detail, "action", str, path)
        need(detail, "region", str, path)
        need(detail, "action-execution-id", str, path)
        kind = need(detail, "type", dict, path)
        if kind:
            for key in ("owner", "category", "provider", "version"):
                need(kind, key, str, path + ".type")
        for key in ("input-artifacts",) + (("output-artifacts",) if state in ("SUCCEEDED", "FAILED", "ABANDONED", "CANCELED") else ()):
            artifacts = need(detail, key, list, path)
            for index, artifact in enumerate(artifacts or []):
                need(artifact, "name", str, "%s.%s[%d]" % (path, key, index))
                location = need(artifact, "s3location", dict, "%s.%s[%d]" % (path, key, index))
                if location:
                    need(location, "bucket", str, "%s.%s[%d].s3location" % (path, key, index))
                    need(location, "key", str, "%s.%s[%d].s3location" % (path, key, index))
        if state in ("SUCCEEDED", "FAILED"):
            result = need(detail, "execution-result", dict, path)
            if result:
                need(result, "external-execution-id", str, path + ".execution-result")
                if state == "FAILED" and result.get("error-code") != "JobFailed":
                    checker.fail(path + ".execution-result.error-code", "JobFailed expected for a failed action")


def load(path):
    text = open(path, encoding="utf-8").read() if path and path != "-" else sys.stdin.read()
    try:
        return json.loads(text)
    except ValueError as error:
        print("%s: not JSON: %s" % (path or "stdin", error))
        sys.exit(1)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    mode = argv[1]
    if mode == "output" and len(argv) in (3, 4):
        if argv[2] not in SHAPES:
            print("no shape %s in botocore's CodePipeline model" % argv[2], file=sys.stderr)
            return 2
        checker = Checker()
        checker.check(load(argv[3] if len(argv) == 4 else None), argv[2], "")
        findings = checker.findings
    elif mode == "events" and len(argv) in (2, 3):
        text = open(argv[2], encoding="utf-8").read() if len(argv) == 3 else sys.stdin.read()
        checker = Checker()
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as error:
                checker.fail("line %d" % number, "not JSON: %s" % error)
                continue
            check_event(event, "line %d" % number, checker)
        findings = checker.findings
    elif mode == "declaration" and len(argv) == 3:
        document = load(argv[2])
        declaration = document.get("pipeline", document) if isinstance(document, dict) else document
        try:
            botocore.validate.validate_parameters({"pipeline": declaration}, MODEL.operation_model("CreatePipeline").input_shape)
            findings = []
        except botocore.exceptions.ParamValidationError as error:
            findings = [line.strip() for line in str(error).splitlines()[1:] if line.strip()] or [str(error)]
    elif mode == "template" and len(argv) == 3:
        import os
        lint = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
        result = subprocess.run([lint, "--format", "parseable", argv[2]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # parseable: FILE:LINE:COL:ENDLINE:ENDCOL:RULE:MESSAGE; only errors (E*) fail.
        findings = [line for line in result.stdout.splitlines() if ":E" in line]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
