"""LangChain's standard unit tests for NeedleChat (langchain-tests, pinned in pyproject)."""

from __future__ import annotations

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_needle import NeedleChat


class TestNeedleChatUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[NeedleChat]:
        return NeedleChat

    @property
    def chat_model_params(self) -> dict:
        return {"model": "needle-tiny", "max_new_tokens": 64}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "needle-tiny"
