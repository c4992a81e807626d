#!/usr/bin/env python3
"""Drives a headless Chromium for the web console's tests through the DevTools protocol over
--remote-debugging-pipe (fds 3 and 4, NUL-separated JSON), with the standard library only.

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"cmd": "goto", "url": U}                    navigate and wait for the load event
  {"cmd": "eval", "expr": JS}                  the expression's value (promises awaited)
  {"cmd": "wait", "expr": JS, "timeout": S}    until the expression is truthy; its value
  {"cmd": "screenshot", "path": P}             the whole page as PNG
  {"cmd": "errors"[, "clear": true]}           script errors and console errors seen so far
  {"cmd": "quit"}
Each answer is {"ok": true, "value": ...} or {"ok": false, "error": "..."}.
"""
import base64, json, os, select, subprocess, sys, tempfile, time

def main():
    chromium = os.environ.get("CHROMIUM", "chromium")
    profile = tempfile.mkdtemp(prefix="cdp-profile-")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def wire():
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)

    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=1280,900", "about:blank"],
        pass_fds=(3, 4), preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_browser_r)
    os.close(from_browser_w)
    out = os.fdopen(to_browser_w, "wb")
    inp = os.fdopen(from_browser_r, "rb", buffering=0)
    state = {"next": 0, "buffer": b"", "events": [], "errors": []}

    def read_message(deadline):
        while b"\0" not in state["buffer"]:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([inp], [], [], left)
            if ready:
                chunk = inp.read(1 << 16)
                if not chunk:
                    raise EOFError("chromium closed the pipe")
                state["buffer"] += chunk
        message, state["buffer"] = state["buffer"].split(b"\0", 1)
        return json.loads(message)

    def note(message):
        method = message.get("method", "")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            state["errors"].append("exception: " + details.get("exception", {}).get("description", details.get("text", "?")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            state["errors"].append("log: " + params["entry"].get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            state["errors"].append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        state["events"].append(message)

    def call(method, params=None, session=None, timeout=30):
        state["next"] += 1
        ident = state["next"]
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        out.write(json.dumps(message).encode() + b"\0")
        out.flush()
        deadline = time.time() + timeout
        while True:
            answer = read_message(deadline)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError(method + ": " + answer["error"].get("message", "?"))
                return answer.get("result", {})
            note(answer)

    def wait_event(name, session, timeout):
        deadline = time.time() + timeout
        while True:
            for index, event in enumerate(state["events"]):
                if event.get("method") == name and event.get("sessionId") == session:
                    del state["events"][:index + 1]
                    return event
            state["events"].clear()
            note(read_message(deadline))

    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
        call(domain, session=session)
    call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)

    def evaluate(expression):
        result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError("script: " + result["exceptionDetails"].get("exception", {}).get("description", result["exceptionDetails"].get("text", "?")))
        return result.get("result", {}).get("value")

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        command = json.loads(line)
        try:
            kind = command["cmd"]
            if kind == "goto":
                state["events"].clear()
                call("Page.navigate", {"url": command["url"]}, session=session)
                wait_event("Page.loadEventFired", session, command.get("timeout", 30))
                value = evaluate("location.href")
            elif kind == "eval":
                value = evaluate(command["expr"])
            elif kind == "wait":
                deadline = time.time() + command.get("timeout", 30)
                value = None
                while time.time() < deadline:
                    try:
                        value = evaluate(command["expr"])
                    except RuntimeError:
                        value = None  # the page is between two documents
                    if value:
                        break
                    time.sleep(0.1)
                if not value:
                    raise TimeoutError("still false after %ss: %s" % (command.get("timeout", 30), command["expr"]))
            elif kind == "screenshot":
                shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
                with open(command["path"], "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                value = command["path"]
            elif kind == "errors":
                # Pending events first: a console error may still be in the pipe.
                try:
                    while True:
                        note(read_message(time.time() + 0.2))
                except TimeoutError:
                    pass
                value = state["errors"]
                if command.get("clear"):
                    state["errors"] = []
            elif kind == "quit":
                break
            else:
                raise ValueError("unknown command " + kind)
            answer = {"ok": True, "value": value}
        except Exception as error:  # every failure goes back to the test, which says what it was
            answer = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    try:
        call("Browser.close", timeout=5)
    except Exception:
        pass
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()

if __name__ == "__main__":
    main()
