"""Fake OpenAI Chat Completions and Responses APIs for capture runs.

Owns the OpenAI-shaped answers: ``chatcmpl-`` ids, usage blocks with
``prompt_tokens_details.cached_tokens``, SSE chunks with a final usage chunk
when ``stream_options.include_usage`` is set, and the Responses API event
stream Codex reads (``response.created`` ... ``response.completed``).

Scripted behaviour: when the request offers tools and the conversation has no
tool result yet, the model calls the first tool; otherwise it answers text.
"""

from __future__ import annotations

import json
import time

from fake_http import Ids, Reply

MODEL = "gpt-4o-mini-2024-07-18"


def _has_tool_result_chat(messages: list[dict]) -> bool:
    return any(m.get("role") == "tool" for m in messages)


def _chat_usage(prompt: int, completion: int, cached: int = 0) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


def _tool_args(tool: dict) -> dict:
    """Arguments for a scripted tool call, shaped by the tool's schema."""
    props = (tool.get("parameters") or {}).get("properties", {})
    if "location" in props:
        return {"location": "Paris"}
    if "command" in props:
        kind = props["command"].get("type")
        return {"command": ["bash", "-lc", "echo hi"] if kind == "array" else "echo hi"}
    if "cmd" in props:
        return {"cmd": "echo hi"}
    return {}


def chat_completions(req: dict, ids: Ids) -> Reply:
    messages = req.get("messages", [])
    tools = req.get("tools") or []
    cid = "chatcmpl-" + ids.token(29)
    created = int(time.time())
    model = req.get("model", MODEL)
    model = MODEL if model == "gpt-4o-mini" else model
    if tools and not _has_tool_result_chat(messages):
        fn = tools[0]["function"]
        message = {
            "role": "assistant", "content": None, "refusal": None,
            "tool_calls": [{
                "id": "call_" + ids.token(24), "type": "function",
                "function": {"name": fn["name"], "arguments": json.dumps(_tool_args(fn))},
            }],
        }
        finish, usage = "tool_calls", _chat_usage(82, 17)
    else:
        text = "It is sunny and 22 C in Paris." if messages and _has_tool_result_chat(messages) \
            else "Hello! OpenTelemetry traces every call."
        message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        finish, usage = "stop", _chat_usage(24, 9, cached=0)
    if req.get("stream"):
        return Reply(sse=_chat_stream(cid, created, model, message, finish, usage, req))
    return Reply(json={
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage, "service_tier": "default", "system_fingerprint": "fp_0ba0d124f1",
    })


def _chat_stream(cid, created, model, message, finish, usage, req) -> list:
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "service_tier": "default", "system_fingerprint": "fp_0ba0d124f1"}
    include_usage = (req.get("stream_options") or {}).get("include_usage")

    def chunk(delta, finish_reason=None):
        c = base | {"choices": [{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish_reason}]}
        return (None, c | ({"usage": None} if include_usage else {}))

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        events.append(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                             "function": {"name": call["function"]["name"],
                                                          "arguments": ""}}]}))
        args = call["function"]["arguments"]
        for i in range(0, len(args), 8):
            piece = {"index": 0, "function": {"arguments": args[i:i + 8]}}
            events.append(chunk({"tool_calls": [piece]}))
    else:
        for word in message["content"].split(" "):
            events.append(chunk({"content": word + " "}))
    events.append(chunk({}, finish))
    if include_usage:
        events.append((None, base | {"choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return events


def _has_tool_result_responses(items: list) -> bool:
    return any(isinstance(i, dict) and i.get("type", "").endswith("call_output") for i in items)


def responses(req: dict, ids: Ids) -> Reply:
    """Responses API, streamed (Codex always streams)."""
    items = req.get("input") or []
    tools = [t for t in req.get("tools") or [] if t.get("type") == "function"]
    rid = "resp_" + ids.hex(48)
    model = req.get("model", "gpt-5-codex")
    shell = next((t for t in tools if "shell" in t["name"] or "exec" in t["name"]), None)
    if shell and not _has_tool_result_responses(items):
        item = {"id": "fc_" + ids.hex(48), "type": "function_call", "status": "completed",
                "call_id": "call_" + ids.token(24), "name": shell["name"],
                "arguments": json.dumps(_tool_args(shell))}
    else:
        item = {"id": "msg_" + ids.hex(48), "type": "message", "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "annotations": [], "logprobs": [],
                             "text": "The command printed: hi"}]}
    usage = {"input_tokens": 3120, "input_tokens_details": {"cached_tokens": 2048},
             "output_tokens": 46, "output_tokens_details": {"reasoning_tokens": 12},
             "total_tokens": 3166}
    return Reply(sse=_responses_stream(rid, model, item, usage))


def _responses_stream(rid: str, model: str, item: dict, usage: dict) -> list:
    created = int(time.time())
    resp = {"id": rid, "object": "response", "created_at": created, "status": "in_progress",
            "model": model, "output": [], "usage": None}
    seq = iter(range(1000))
    ev = []

    def add(kind, **data):
        ev.append((kind, {"type": kind, "sequence_number": next(seq)} | data))

    add("response.created", response=resp)
    add("response.in_progress", response=resp)
    pending = item | {"status": "in_progress"}
    if item["type"] == "function_call":
        add("response.output_item.added", output_index=0, item=pending | {"arguments": ""})
        add("response.function_call_arguments.delta", item_id=item["id"], output_index=0,
            delta=item["arguments"])
        add("response.function_call_arguments.done", item_id=item["id"], output_index=0,
            arguments=item["arguments"])
    else:
        text = item["content"][0]["text"]
        add("response.output_item.added", output_index=0, item=pending | {"content": []})
        part = {"type": "output_text", "annotations": [], "text": ""}
        add("response.content_part.added", item_id=item["id"], output_index=0,
            content_index=0, part=part)
        add("response.output_text.delta", item_id=item["id"], output_index=0,
            content_index=0, delta=text)
        add("response.output_text.done", item_id=item["id"], output_index=0,
            content_index=0, text=text)
        add("response.content_part.done", item_id=item["id"], output_index=0,
            content_index=0, part=part | {"text": text})
    add("response.output_item.done", output_index=0, item=item)
    add("response.completed",
        response=resp | {"status": "completed", "output": [item], "usage": usage})
    return ev
