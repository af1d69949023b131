"""Fake Anthropic Messages API for capture runs.

Owns the Anthropic-shaped answers: ``msg_01...`` / ``toolu_01...`` ids, usage
with ``cache_creation_input_tokens`` / ``cache_read_input_tokens`` (and the
``cache_creation`` breakdown), and the streamed event sequence
(``message_start`` ... ``message_stop``).

Scripted behaviour: when the request offers a tool named in ``TOOL_INPUTS``
(Bash for Claude Code, get_weather for the SDK scripts) and no
``tool_result`` is in the conversation yet, the model calls it; otherwise it
answers text. Requests without tools (Claude Code's side calls) get text.
"""

from __future__ import annotations

import json

from fake_http import Ids, Reply

TOOL_INPUTS = {
    "Bash": {"command": "echo hi", "description": "Print hi"},
    "get_weather": {"location": "Paris"},
}
TOOL_ANSWERS = {"Bash": "The command printed: hi", "get_weather": "It is sunny and 22 C in Paris."}
USAGE = {"input_tokens": 42, "cache_creation_input_tokens": 0,
         "cache_read_input_tokens": 2048, "output_tokens": 0,
         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
         "service_tier": "standard"}


def _has_tool_result(messages: list[dict]) -> bool:
    for m in messages:
        content = m.get("content")
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return True
    return False


def _content(req: dict, ids: Ids) -> tuple[list[dict], str]:
    tools = {t.get("name"): t for t in req.get("tools") or []}
    name = next((n for n in TOOL_INPUTS if n in tools), None)
    if name and not _has_tool_result(req.get("messages", [])):
        return ([{"type": "text", "text": "Let me check."},
                 {"type": "tool_use", "id": "toolu_01" + ids.token(22), "name": name,
                  "input": TOOL_INPUTS[name]}], "tool_use")
    if _has_tool_result(req.get("messages", [])):
        text = TOOL_ANSWERS.get(name or "", "Done.")
    else:
        text = "Hello from the fake Claude."
    return [{"type": "text", "text": text}], "end_turn"


def messages(req: dict, ids: Ids) -> Reply:
    content, stop = _content(req, ids)
    out_tokens = 31 if stop == "tool_use" else 12
    msg = {"id": "msg_01" + ids.token(22), "type": "message", "role": "assistant",
           "model": req.get("model", "claude-sonnet-4-5-20250929"), "content": content,
           "stop_reason": stop, "stop_sequence": None,
           "usage": USAGE | {"output_tokens": out_tokens}}
    headers = {"request-id": "req_01" + ids.token(22)}
    if not req.get("stream"):
        return Reply(json=msg, headers=headers)
    return Reply(sse=_stream(msg), headers=headers)


def _stream(msg: dict) -> list:
    start = msg | {"content": [], "stop_reason": None,
                   "usage": msg["usage"] | {"output_tokens": 1}}
    ev = [("message_start", {"type": "message_start", "message": start})]
    for i, block in enumerate(msg["content"]):
        if block["type"] == "text":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta",
                                                         "text": block["text"]}}))
        else:
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": block | {"input": {}}}))
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": delta}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    usage = msg["usage"]
    ev.append(("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"], "input_tokens": usage["input_tokens"],
                  "cache_read_input_tokens": usage["cache_read_input_tokens"],
                  "cache_creation_input_tokens": 0}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


def count_tokens(req: dict, ids: Ids) -> Reply:
    return Reply(json={"input_tokens": 42})
