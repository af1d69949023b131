"""Provider-name normalisation: one list, shared by the native API's validation and OTLP mapping.

Canonical ids are the OpenTelemetry ``gen_ai.provider.name`` well-known values plus a few
pass-through ids for providers the conventions do not list. Matching is
case-insensitive; dotted SDK strings (``openai.chat``, ``anthropic.messages``) match by prefix.
"""

from __future__ import annotations

import fnmatch

# canonical id -> accepted raw spellings (lowercased). The canonical id itself is always accepted.
_ALIASES: dict[str, tuple[str, ...]] = {
    "openai": (
        "openai",
        "openai.chat",
        "openai.responses",
        "openai.completion",
        "openai.embedding",
    ),
    "azure.ai.openai": ("az.ai.openai", "azure", "azure.chat", "azure-openai", "azure_openai"),
    "azure.ai.inference": ("az.ai.inference",),
    "anthropic": ("anthropic.messages", "claude"),
    "aws.bedrock": ("aws", "bedrock", "amazon-bedrock", "amazon_bedrock", "amazon"),
    "gcp.vertex_ai": ("vertex_ai", "vertexai", "vertex", "google.vertex", "google-vertex"),
    "gcp.gemini": ("gemini", "google.generative-ai", "google-genai", "google_genai"),
    "gcp.gen_ai": ("google",),
    "mistral_ai": ("mistralai", "mistral"),
    "x_ai": ("xai", "grok", "x-ai"),
    "cohere": (),
    "deepseek": (),
    "groq": (),
    "perplexity": (),
    "ibm.watsonx.ai": ("watsonx",),
    # pass-through ids (not OTel well-known values, but common)
    "openrouter": (),
    "ollama": (),
    "together_ai": ("together", "togetherai"),
    "fireworks": ("fireworks_ai", "fireworks-ai"),
    "hugging_face": ("huggingface", "hf"),
    "replicate": (),
    "aleph_alpha": (),
    "moonshot": ("moonshotai",),
    "cerebras": (),
    "litellm": (),
}

CANONICAL_PROVIDERS: tuple[str, ...] = tuple(_ALIASES)

_LOOKUP: dict[str, str] = {}
for _canonical, _aliases in _ALIASES.items():
    _LOOKUP[_canonical] = _canonical
    for _alias in _aliases:
        _LOOKUP[_alias] = _canonical

# server.address host patterns -> canonical id (when no attribute names the provider)
HOST_PATTERNS: tuple[tuple[str, str], ...] = (
    ("api.openai.com", "openai"),
    ("*.openai.azure.com", "azure.ai.openai"),
    ("*.services.ai.azure.com", "azure.ai.inference"),
    ("*.inference.ai.azure.com", "azure.ai.inference"),
    ("api.anthropic.com", "anthropic"),
    ("bedrock-runtime.*.amazonaws.com", "aws.bedrock"),
    ("*aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.x.ai", "x_ai"),
    ("api.cohere.com", "cohere"),
    ("api.cohere.ai", "cohere"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("api.perplexity.ai", "perplexity"),
    ("*.ml.cloud.ibm.com", "ibm.watsonx.ai"),
    ("openrouter.ai", "openrouter"),
)


def canonical_provider(raw: str | None) -> str | None:
    """The canonical id for a raw provider string, or None when it is not a known provider.

    >>> canonical_provider("Anthropic"), canonical_provider("openai.chat"), canonical_provider("zz")
    ('anthropic', 'openai', None)
    """
    if not raw:
        return None
    key = raw.strip().lower()
    if key in _LOOKUP:
        return _LOOKUP[key]
    # dotted SDK strings: try ever shorter prefixes ("google.vertex.chat" -> "google.vertex")
    parts = key.split(".")
    for end in range(len(parts) - 1, 0, -1):
        hit = _LOOKUP.get(".".join(parts[:end]))
        if hit:
            return hit
    return None


def normalize_provider(raw: str | None) -> str:
    """Canonical id when known, else the lowercased raw value, else ``unknown``."""
    if raw is None or not raw.strip():
        return "unknown"
    return canonical_provider(raw) or raw.strip().lower()


def provider_from_host(host: str | None) -> str | None:
    """Provider implied by a ``server.address`` host, or None."""
    if not host:
        return None
    host = host.strip().lower()
    for pattern, canonical in HOST_PATTERNS:
        if fnmatch.fnmatchcase(host, pattern):
            return canonical
    return None
