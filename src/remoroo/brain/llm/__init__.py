"""The LLM brain: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio) or Anthropic."""

from __future__ import annotations

from remoroo.brain.llm.backends import AnthropicBackend, Backend, Completion, OpenAIBackend
from remoroo.brain.llm.brain import LLMBrain, LLMSettings, make_backend

__all__ = ["AnthropicBackend", "Backend", "Completion", "LLMBrain", "LLMSettings", "OpenAIBackend", "make_backend"]
