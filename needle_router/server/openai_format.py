"""OpenAI chat-completions requests -> a routing job, and routing results -> OpenAI responses.

Pure data conversion (no web framework), so the rules are testable on their own and the same
for the JSON and the streamed (server-sent events) answer. Needle routes, it does not chat:

* the query is the text of the latest ``user`` message; earlier turns are not read;
* a conversation that ends with ``tool`` results gets a short text answer built from them and
  no new call, so agent loops end;
* ``tool_choice``: ``"auto"`` (default; may answer with no call), ``"required"`` (must call
  one of the tools), ``{"type": "function", "function": {"name": X}}`` (must call X),
  ``"none"`` (never calls; the answer is a short text, and the model does not run).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from needle_router.router import RouteResult
from needle_router.tools.errors import ToolSpecError

__all__ = [
    "NO_TOOL_TEXT",
    "ChatJob",
    "RequestError",
    "completion",
    "completion_chunks",
    "error_body",
    "parse_chat_request",
    "tool_error_field",
]

NO_TOOL_TEXT = "No tool applies to this request."
MAX_TOOLS = 2048  # beyond this a tool set is a mistake, and its grammar compile would stall the server


class RequestError(ValueError):
    """A request that cannot be served: ``field`` is the offending JSON path (OpenAI's
    ``param``), ``status`` the HTTP status to answer with."""

    def __init__(self, field: str | None, message: str, status: int = 422):
        self.field = field
        self.message = message
        self.status = status
        super().__init__(f"{field}: {message}" if field else message)


@dataclass
class ChatJob:
    """What one chat-completions request asks for, checked.

    ``query`` is None when no routing is needed and ``text`` is the whole answer.
    """

    model: str | None
    tools: list[Any]
    query: str | None
    text: str | None = None
    require_call: bool = False
    allowed: list[str] | None = None
    stream: bool = False
    include_usage: bool = False
    parallel_tool_calls: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def route_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"require_call": self.require_call}
        if self.allowed is not None:
            options["allowed"] = self.allowed
        return options


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        raise RequestError(where, f"expected {what}, got {_type_name(value)}")
    return value


def _text(content: Any, where: str) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text":
                parts.append(_expect(part.get("text"), str, f"{where}[{i}].text", "a string"))
            elif not isinstance(part, dict):
                raise RequestError(f"{where}[{i}]", f"expected a content part object, got {_type_name(part)}")
        return "\n".join(parts)
    raise RequestError(where, f"expected a string or a list of content parts, got {_type_name(content)}")


def _check_tools(tools: Any) -> list[Any]:
    if tools is None:
        return []
    _expect(tools, list, "tools", "an array of tools")
    if len(tools) > MAX_TOOLS:
        raise RequestError("tools", f"at most {MAX_TOOLS} tools per request, got {len(tools)}")
    for i, tool in enumerate(tools):
        _expect(tool, dict, f"tools[{i}]", "a tool object")
        if "function" in tool:
            if tool.get("type", "function") != "function":
                raise RequestError(f"tools[{i}].type", f"only 'function' tools are supported, got {tool.get('type')!r}")
            fn = _expect(tool["function"], dict, f"tools[{i}].function", "an object")
            _expect(fn.get("name"), str, f"tools[{i}].function.name", "a string")
            if "parameters" in fn:
                _expect(fn["parameters"], dict, f"tools[{i}].function.parameters", "a JSON Schema object")
    return tools


def _tool_names(tools: list[Any]) -> list[str]:
    names = []
    for tool in tools:
        fn = tool.get("function", tool) if isinstance(tool, dict) else {}
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
    return names


def _tool_choice(choice: Any, tools: list[Any]) -> tuple[str, str | None]:
    """-> ("auto" | "required" | "none" | "function", the function's name)."""
    if choice is None:
        return "auto", None
    if isinstance(choice, str):
        if choice in ("auto", "required", "none"):
            return choice, None
        raise RequestError("tool_choice", f"expected 'auto', 'required', 'none' or a function object, got {choice!r}")
    _expect(choice, dict, "tool_choice", "'auto', 'required', 'none' or a function object")
    if choice.get("type", "function") != "function":
        raise RequestError("tool_choice.type", f"only 'function' is supported, got {choice.get('type')!r}")
    fn = _expect(choice.get("function"), dict, "tool_choice.function", "an object with a name")
    name = _expect(fn.get("name"), str, "tool_choice.function.name", "a string")
    if name not in _tool_names(tools):
        raise RequestError("tool_choice.function.name", f"{name!r} is not one of the request's tools")
    return "function", name


def _tool_results_text(messages: list[dict]) -> str:
    """The trailing tool messages, as a short answer."""
    results = []
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.get("role") != "tool":
            break
        label = message.get("name") or message.get("tool_call_id") or "tool"
        results.append(f"{label}: {_text(message.get('content'), f'messages[{i}].content') or '(no output)'}")
    return "Tool results:\n" + "\n".join(reversed(results))


def parse_chat_request(body: Any) -> ChatJob:
    """Check a decoded JSON body field by field; raises :class:`RequestError` naming the field."""
    _expect(body, dict, "body", "a JSON object")
    model = body.get("model")
    if model is not None:
        _expect(model, str, "model", "a string")
    messages = _expect(body.get("messages"), list, "messages", "a non-empty array of messages")
    if not messages:
        raise RequestError("messages", "expected a non-empty array of messages")
    for i, message in enumerate(messages):
        _expect(message, dict, f"messages[{i}]", "a message object")
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool", "function"):
            raise RequestError(f"messages[{i}].role", f"unknown role {role!r}")
        if "content" in message:
            _text(message["content"], f"messages[{i}].content")
    tools = _check_tools(body.get("tools"))
    choice, name = _tool_choice(body.get("tool_choice"), tools)
    if not tools and choice == "required":
        raise RequestError("tool_choice", "'required' needs tools")
    n = body.get("n", 1)
    if n is not None and _expect(n, int, "n", "an integer") != 1:
        raise RequestError("n", "only n=1 is supported")
    stream = body.get("stream") or False
    _expect(stream, bool, "stream", "a boolean")
    options = body.get("stream_options") or {}
    _expect(options, dict, "stream_options", "an object")
    include_usage = options.get("include_usage", False)
    _expect(include_usage, bool, "stream_options.include_usage", "a boolean")
    parallel = body.get("parallel_tool_calls", True)
    _expect(parallel, bool, "parallel_tool_calls", "a boolean")

    job = ChatJob(model=model, tools=tools, query=None, stream=stream, include_usage=include_usage,
                  parallel_tool_calls=parallel)
    if messages[-1].get("role") == "tool":
        job.text = _tool_results_text(messages)
        return job
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        raise RequestError("messages", "no 'user' message: there is nothing to route")
    last = users[-1]
    query = _text(messages[last].get("content"), f"messages[{last}].content")
    if not query.strip():
        raise RequestError(f"messages[{last}].content", "the query is empty (or only whitespace)")
    if choice == "none" or not tools:  # nothing to choose from: no need to run the model
        job.text = NO_TOOL_TEXT
        return job
    job.query = query
    if choice == "required":
        job.require_call = True
    elif choice == "function":
        job.require_call, job.allowed = True, [name]  # type: ignore[list-item]
    return job


def tool_error_field(err: ToolSpecError, tools: list[Any]) -> str:
    """Where in the request a bad tool declaration is, as a JSON path:
    ``tools[1].function.parameters.properties.unit``."""
    if err.index is None:
        return "tools"
    where = f"tools[{err.index}]"
    tool = tools[err.index] if 0 <= err.index < len(tools) else None
    if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
        where += ".function"
    if err.parameter:
        where += ".parameters"
        for part in err.parameter.split("."):
            items = 0
            while part.endswith("[]"):
                part, items = part[:-2], items + 1
            if part:
                where += f".properties.{part}"
            where += ".items" * items
    elif "name" in err.reason:
        where += ".name"
    return where


def _calls(result: RouteResult, parallel: bool) -> list[dict[str, Any]]:
    calls = result.calls if parallel else result.calls[:1]
    return [{"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
            for c in calls]


def _usage(result: RouteResult | None) -> dict[str, int]:
    if result is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    u = result.usage
    return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens}


def _needle(result: RouteResult | None) -> dict[str, Any] | None:
    """Needle's extras (OpenAI clients keep unknown fields): confidence and latency."""
    if result is None:
        return None
    return {"confidence": result.confidence, "latency_ms": round(result.latency_ms, 3),
            "abstained": result.abstained, "truncated": result.truncated, "errors": result.errors}


def completion(job: ChatJob, result: RouteResult | None, model_id: str) -> dict[str, Any]:
    """The ``chat.completion`` object for a routed (or text-only) request."""
    calls = _calls(result, job.parallel_tool_calls) if result is not None else []
    message: dict[str, Any] = {"role": "assistant", "content": None if calls else (job.text or NO_TOOL_TEXT),
                               "refusal": None}
    if calls:
        message["tool_calls"] = calls
    body: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": _usage(result),
    }
    needle = _needle(result)
    if needle is not None:
        body["needle"] = needle
    return body


def completion_chunks(job: ChatJob, result: RouteResult | None, model_id: str) -> Iterator[dict[str, Any]]:
    """The same answer as ``chat.completion.chunk`` objects: the role, the text or one chunk
    per tool call (whole arguments: routing is not incremental), the finish reason, then the
    usage when ``stream_options.include_usage`` asked for it."""
    full = completion(job, result, model_id)
    base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"], "model": model_id}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        out = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
        if job.include_usage:
            out["usage"] = None
        out.update(extra)
        return out

    message = full["choices"][0]["message"]
    yield chunk({"role": "assistant", "content": None if message.get("tool_calls") else ""})
    if message.get("tool_calls"):
        for i, call in enumerate(message["tool_calls"]):
            yield chunk({"tool_calls": [dict(call, index=i)]})
    else:
        yield chunk({"content": message["content"]})
    final = chunk({}, full["choices"][0]["finish_reason"])
    if "needle" in full:
        final["needle"] = full["needle"]
    yield final
    if job.include_usage:
        yield dict(base, choices=[], usage=full["usage"])


def error_body(message: str, *, param: str | None = None, kind: str = "invalid_request_error",
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape, which its clients turn into typed exceptions."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
