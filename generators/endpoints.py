"""POSTs to a registered model's OpenAI-compatible endpoints: its replicas share the load (a
request goes to the one with the fewest in flight, a retry to the next: `OpenAIHttp.post`),
and every failure is an error naming the model and what to do. Generation and
multiple-choice answering use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.completions import completion_path
from common.errors import (
    EndpointMalformedError,
    EndpointRejectedError,
    EndpointUnavailableError,
)
from common.openai_http import ClientSettings, OpenAIHttp, join_url
from generators.errors import (
    GenerationMalformedError,
    GenerationRejectedError,
    GenerationUnavailableError,
)
from generators.registry import PromptFormat, Registry, ServedModel


class ModelEndpoints:
    """The completion endpoints of a registry's models, through one connection pool."""

    def __init__(self, registry: Registry, client: ClientSettings) -> None:
        self.registry = registry
        self.chat = registry.prompt_format is PromptFormat.CHAT
        self._http = OpenAIHttp(client)
        self._path = completion_path(self.chat)

    async def post(
        self,
        model: ServedModel,
        body: dict[str, Any],
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """POST `body` to the model's completion endpoint and return `parse` of the answer (a
        `MalformedAnswerError` from it is retried like a 5xx)."""
        urls = [join_url(url, self._path) for url in model.endpoints]
        try:
            return await self._http.post(urls, body, parse)
        except EndpointMalformedError as error:
            raise GenerationMalformedError(
                f"model {model.name!r} at {error.url} gave no usable answer in "
                f"{error.attempts} attempts: {error.reason}. Nothing was stored for it; check the "
                "server's chat template and logs."
            ) from None
        except EndpointUnavailableError as error:
            raise GenerationUnavailableError(
                f"model {model.name!r} at {error.url} failed after {error.attempts} attempts: "
                f"{error.reason}. Is the vLLM server running (sxs generators serve)?"
            ) from None
        except EndpointRejectedError as error:
            hint = (
                " The server does not serve this model: restart `sxs generators serve` or run "
                "`sxs generators sync` to load new adapters."
                if error.status == 404
                else ""
            )
            raise GenerationRejectedError(f"model {model.name!r}: {error}.{hint}") from None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
