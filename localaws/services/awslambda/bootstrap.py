"""The runtime inside one worker process: import the handler once, then run one invocation at a time.

Started as `python -I bootstrap.py` with only the function's environment (with `--check`, at deploy time: import
the handlers and exit). Standard library only: the worker's
imports are the function's own. Protocol: one JSON object per line; requests on stdin, frames to the channel
(the original stdout). sys.stdout and sys.stderr are routed into the channel as log frames, so a line the handler
prints is in its log even when the process dies right after.
"""

import importlib
import io
import json
import os
import sys
import time
import traceback

_channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
# Output written straight to the file descriptors (native code, child processes) goes to the local AWS's log.
os.dup2(2, 1)


def _send(frame):
    _channel.write(json.dumps(frame, default=str) + "\n")


class _LogStream(io.TextIOBase):
    """sys.stdout/sys.stderr: each complete line becomes a log frame."""

    def __init__(self):
        self._pending = ""

    def writable(self):
        return True

    def write(self, text):
        self._pending += text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                _send({"type": "log", "text": line})
        return len(text)

    def flush(self):
        if self._pending:
            _send({"type": "log", "text": self._pending})
            self._pending = ""


class _Context:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, request):
        self.aws_request_id = request["request_id"]
        self.invoked_function_arn = request["invoked_function_arn"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = request.get("client_context")
        self._deadline_ms = request["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(exc, error_type=None):
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        # The first frame is this bootstrap calling the handler: Lambda shows the function's frames only.
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:]),
    }


def _load_handler():
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # Lambda reports any failure while importing the module this way
        return None, _error(exc, "Runtime.ImportModuleError") | {
            "errorMessage": f"Unable to import module '{module_name}': {exc}"
        }
    handler = getattr(module, attribute, None)
    if not callable(handler):
        return None, {
            "errorType": "Runtime.HandlerNotFound",
            "errorMessage": f"Handler '{attribute}' missing on module '{module_name}'",
            "stackTrace": [],
        }
    return handler, None


def main():
    started = time.monotonic()
    sys.stdout = sys.stderr = _LogStream()
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    handler, init_error = _load_handler()
    sys.stdout.flush()
    _send({"type": "init", "ms": (time.monotonic() - started) * 1000, "error": init_error})
    if init_error:
        return 1
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = handler(json.loads(request["payload"]), _Context(request))
        except MemoryError:
            # The environment is beyond repair: end it, as Lambda does when a function runs out of memory.
            sys.stdout.flush()
            os._exit(137)
        except Exception as exc:
            frame = {"type": "error", "error": _error(exc)}
        else:
            try:
                frame = {"type": "result", "payload": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                frame = {"type": "error", "error": _error(exc, "Runtime.MarshalError")}
        sys.stdout.flush()
        _send(frame)
    return 0


def check():
    """Check mode (deploy time): import each handler of one code package, listed as JSON on stdin with the
    function's environment; write one JSON line per handler with its init error or null."""
    base = dict(os.environ)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    for item in json.loads(sys.stdin.read()):
        os.environ.clear()
        lambda_variables = {"_HANDLER": item["handler"], "AWS_LAMBDA_FUNCTION_NAME": item["name"]}
        os.environ.update(base | item["environment"] | lambda_variables)
        _, error = _load_handler()
        _send({"id": item["id"], "error": error})
    return 0


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["--check"] else main())
