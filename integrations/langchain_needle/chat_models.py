"""NeedleChat: the Needle tool router as a LangChain chat model.

    from langchain_needle import NeedleChat
    llm = NeedleChat().bind_tools([get_weather, send_email])
    msg = llm.invoke("What's the weather in Paris?")
    msg.tool_calls  # [{'name': 'get_weather', 'args': {'location': 'Paris'}, 'id': 'call_...', ...}]

Needle routes; it does not chat. How a conversation becomes one routing query:

* the query is the text of the latest human message; earlier turns and system messages are
  not read (the model was trained on single requests);
* when the conversation ends with tool results (``ToolMessage``) the answer is text built from
  those results, with no new call, so agent loops terminate;
* with no tools bound, ``tool_choice="none"``, or when no tool applies, the answer is a short
  text saying so.

``tool_choice``: ``None``/``"auto"`` (may answer with no call), ``"any"``/``"required"``/``True``
(must call one of the tools), a tool name (must call that tool), ``"none"`` (never calls).
Calls that fail validation (possible only with ``constrained=False``) go to
``invalid_tool_calls``. Async calls go through the router's micro-batcher, so concurrent
``ainvoke`` calls share batched decodes.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Callable

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from needle_router import NeedleRouter, RouteResult
from needle_router.tools import canonical_json

NO_TOOL_TEXT = "No tool applies to this request."
_ROUTERS_PER_MODEL = 16


def _text_of(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
    return "\n".join(p for p in parts if p)


def _tool_results_text(messages: Sequence[BaseMessage]) -> str:
    """The trailing ToolMessages, as a short answer."""
    results = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        name = message.name or "tool"
        results.append(f"{name}: {_text_of(message) or '(no output)'}")
    return "Tool results:\n" + "\n".join(reversed(results))


class NeedleChat(BaseChatModel):
    """LangChain chat model backed by :class:`needle_router.NeedleRouter` (see module docs)."""

    model: str | None = Field(default=None, description="weights directory or preset; None = shipped default")
    top_k: int | None = None
    constrained: bool = True
    min_confidence: float | None = None
    max_new_tokens: int = 256
    max_batch: int = 32
    ground_optional: bool = Field(
        default=True, description="drop optional arguments the query never mentions, fill an optional enum value it names")
    tool_prior: float | None = Field(default=None, ge=0.0, le=100.0,
                                     description="weight of the query's retrieval match on the tool name; "
                                                 "0 = the model alone, None = the router's default")

    model_config = ConfigDict(protected_namespaces=())
    _routers: OrderedDict = PrivateAttr(default_factory=OrderedDict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "needle"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model_name, "top_k": self.top_k, "constrained": self.constrained}

    @property
    def model_name(self) -> str:
        return self.model or "needle-router-default"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any):
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "needle"
        params["ls_model_name"] = kwargs.get("model") or self.model_name
        return params

    # --- tools ---------------------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: dict | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (anything LangChain can convert to an OpenAI tool schema)."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        names = [t["function"]["name"] for t in formatted]
        choice = _normalise_choice(tool_choice, names)
        return super().bind(tools=formatted, tool_choice=choice, **kwargs)

    def _router(self, tools: list[dict[str, Any]] | None, model: str | None) -> NeedleRouter:
        """One router per (weights, tool set), reused across calls; weights load on first use."""
        key = canonical_json([model, tools or []])
        with self._lock:
            router = self._routers.get(key)
            if router is not None:
                self._routers.move_to_end(key)
                return router
        router = NeedleRouter(tools or [], model, top_k=self.top_k, constrained=self.constrained,
                              min_confidence=self.min_confidence, max_new_tokens=self.max_new_tokens,
                              max_batch=self.max_batch, ground_optional=self.ground_optional,
                              tool_prior=self.tool_prior)
        with self._lock:
            self._routers[key] = router
            while len(self._routers) > _ROUTERS_PER_MODEL:
                self._routers.popitem(last=False)
        return router

    # --- one request -----------------------------------------------------------------------
    def _plan(self, messages: Sequence[BaseMessage], tools, tool_choice) -> tuple[str | None, dict]:
        """(query to route, or None with the text answer in options['text']), route options."""
        if messages and isinstance(messages[-1], ToolMessage):
            return None, {"text": _tool_results_text(messages)}
        if not tools or tool_choice == "none":
            return None, {"text": NO_TOOL_TEXT}
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        query = _text_of(human) if human is not None else ""
        if not query.strip():
            query = _text_of(messages[-1]) if messages else ""
        if not query.strip():
            return None, {"text": NO_TOOL_TEXT}
        options: dict[str, Any] = {}
        if tool_choice == "any":
            options["require_call"] = True
        elif isinstance(tool_choice, str) and tool_choice not in ("auto",):
            options["require_call"] = True
            options["allowed"] = [tool_choice]
        return query, options

    def _message(self, result: RouteResult | None, text: str | None, model: str | None = None) -> AIMessage:
        name = model or self.model_name
        if result is None:
            return AIMessage(content=text or NO_TOOL_TEXT,
                             usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
                             response_metadata={"model_name": name})
        calls = [tool_call(name=c.name, args=c.arguments, id=c.id) for c in result.calls]
        invalid = [invalid_tool_call(name=None, args=None, id=None, error=e) for e in result.errors
                   if "did not finish" not in e]
        usage = {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens,
                 "total_tokens": result.usage.input_tokens + result.usage.output_tokens}
        return AIMessage(
            content="" if calls else NO_TOOL_TEXT,
            tool_calls=calls,
            invalid_tool_calls=invalid,
            usage_metadata=usage,
            response_metadata={"model_name": name, "confidence": result.confidence,
                               "latency_ms": result.latency_ms, "finish_reason": "tool_calls" if calls else "stop"},
        )

    def _prepare(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]):
        """(ready answer, None) when no routing is needed, else (None, (router, query, options, model))."""
        tools = kwargs.get("tools")
        model = kwargs.get("model") or self.model
        query, options = self._plan(messages, tools, kwargs.get("tool_choice"))
        if query is None:
            return _result(self._message(None, options["text"], model)), None
        return None, (self._router(tools, model), query, options, model)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        ready, job = self._prepare(messages, kwargs)
        if ready is not None:
            return ready
        router, query, options, model = job
        return _result(self._message(router.route_sync(query, **options), None, model))

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        ready, job = self._prepare(messages, kwargs)
        if ready is not None:
            return ready
        router, query, options, model = job
        return _result(self._message(await router.route(query, **options), None, model))

    # --- streaming ------------------------------------------------------------------------------
    def _chunks(self, message: AIMessage) -> Iterator[ChatGenerationChunk]:
        """The answer as chunks: text, or one tool_call_chunk per call, then usage."""
        if message.content:
            yield ChatGenerationChunk(message=AIMessageChunk(content=message.content))
        for i, call in enumerate(message.tool_calls):
            chunk = tool_call_chunk(name=call["name"], args=json.dumps(call["args"], ensure_ascii=False),
                                    id=call["id"], index=i)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[chunk]))
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", usage_metadata=message.usage_metadata, response_metadata=message.response_metadata,
            chunk_position="last"))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        message = self._generate(messages, stop, None, **kwargs).generations[0].message
        for chunk in self._chunks(message):  # type: ignore[arg-type]
            if run_manager and chunk.message.content:
                run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        message = (await self._agenerate(messages, stop, None, **kwargs)).generations[0].message
        for chunk in self._chunks(message):  # type: ignore[arg-type]
            if run_manager and chunk.message.content:
                await run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def _normalise_choice(tool_choice: Any, names: list[str]) -> str | None:
    """LangChain's tool_choice forms -> None, "auto", "any", "none" or a tool name."""
    if tool_choice is None or tool_choice == "auto" or tool_choice is False:
        return None
    if tool_choice is True or tool_choice in ("any", "required"):
        return "any"
    if tool_choice == "none":
        return "none"
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        if not isinstance(name, str):
            raise ValueError(f"unsupported tool_choice {tool_choice!r}")
        tool_choice = name
    if isinstance(tool_choice, str):
        if tool_choice not in names:
            raise ValueError(f"tool_choice {tool_choice!r} is not one of the bound tools {names}")
        return tool_choice
    raise ValueError(f"unsupported tool_choice {tool_choice!r}")


__all__ = ["NeedleChat", "NO_TOOL_TEXT"]
