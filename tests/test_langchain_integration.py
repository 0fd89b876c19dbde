"""LangChain's standard integration tests for NeedleChat, against the shipped default weights.

Every xfail below is tied to one limit: the shipped weights (needle-2m, trained for 1.6 hours on
a CPU; issue 8) choose tools and especially argument values unreliably. The mechanics those tests also exercise (tool
binding, tool_choice, tool-call messages, streaming chunks) pass in the other tests and in
tests/test_langchain_chat.py. Skips come from the suite itself, for inputs Needle does not take
(images, audio, PDF, Anthropic-format content, JSON mode) and for VCR recording.
"""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_needle import NeedleChat

UNTRAINED = ("the shipped needle-2m weights are weak (issue 8): which tool is called, how many times, and "
             "argument values are unreliable (the grammar guarantees types and structure, not that a "
             "value satisfies a numeric bound such as magic_function's input < 1000)")


class TestNeedleChatIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[NeedleChat]:
        return NeedleChat

    @property
    def chat_model_params(self) -> dict:
        return {}  # the shipped default weights

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "needle-tiny"

    @pytest.mark.xfail(reason=UNTRAINED)
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_tool_calling(self, model) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=UNTRAINED)
    async def test_tool_calling_async(self, model) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=UNTRAINED)
    def test_tool_choice(self, model) -> None:
        super().test_tool_choice(model)

    @pytest.mark.xfail(reason=UNTRAINED)
    def test_tool_calling_with_no_arguments(self, model) -> None:
        super().test_tool_calling_with_no_arguments(model)

    @pytest.mark.xfail(reason=UNTRAINED)
    def test_unicode_tool_call_integration(self, model, *, tool_choice=None, force_tool_call=True) -> None:
        super().test_unicode_tool_call_integration(model, tool_choice=tool_choice, force_tool_call=force_tool_call)

    @pytest.mark.xfail(reason=UNTRAINED)
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_agent_loop(self, model) -> None:
        super().test_agent_loop(model)
