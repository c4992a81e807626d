#!/usr/bin/env python3
"""Checks what git-pipeline prints and accepts against AWS's own machine-readable models.

    aws-check.py output SHAPE [FILE]   JSON (a file, else stdin) against an output shape of botocore's
                                       CodePipeline model (GetPipelineExecutionOutput, ...), plus the
                                       members git-pipeline adds (EXTENSIONS below, the README's list)
    aws-check.py declaration FILE      a pipeline declaration (JSON: {"pipeline": ...} as
                                       get-pipeline prints it, or the declaration alone) against
                                       CreatePipeline's input, with botocore's own validator
    aws-check.py template FILE         a CloudFormation template with cfn-lint: its errors (E*)

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
