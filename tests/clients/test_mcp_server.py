"""The MCP server (`python -m hitl_oversight_client.mcp`) started as a subprocess on stdio and
driven with the official MCP SDK's client against a live product."""

import asyncio
import json
import os
import subprocess
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.clients.test_python_client import REFUND, modify

TOOLS = {"check_gate", "ask_human", "get_case", "find_precedents"}


def server_parameters(product, **env) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "hitl_oversight_client.mcp"],
        env={**os.environ, "HITL_URL": product.url, "HITL_API_KEY": product.key, **env},
    )


def result_of(call) -> dict:
    assert not call.isError, call.content
    return json.loads(call.content[0].text)


def test_an_agent_uses_the_tools_over_stdio(product):
    async def walk():
        async with (
            stdio_client(server_parameters(product)) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == TOOLS
            assert {"journey", "action"} <= set(tools["check_gate"].inputSchema["required"])
            assert tools["ask_human"].inputSchema["properties"]["reason"]["enum"] == [
                "customer_requested_human",
                "system_unsure",
            ]

            go = result_of(
                await session.call_tool(
                    "check_gate",
                    {"journey": "refunds", "action": REFUND, "signals": {"confidence": 0.95}},
                )
            )
            stop = result_of(
                await session.call_tool(
                    "check_gate",
                    {"journey": "refunds", "action": REFUND, "signals": {"confidence": 0.3}},
                )
            )
            handed = result_of(
                await session.call_tool(
                    "ask_human", {"journey": "refunds", "context": {"order_id": "A-9"}}
                )
            )
            await asyncio.to_thread(modify, stop["case_id"], product.reviewer)
            decided = result_of(await session.call_tool("get_case", {"case_id": stop["case_id"]}))
            memory = result_of(
                await session.call_tool(
                    "find_precedents", {"journey": "refunds", "signals": {"confidence": 0.3}}
                )
            )
            refused = await session.call_tool(
                "check_gate", {"journey": "nowhere", "action": REFUND}
            )
            return go, stop, handed, decided, memory, refused

    go, stop, handed, decided, memory, refused = asyncio.run(walk())
    assert go["route"] == "automate" and go["case_id"] is None
    assert stop["route"] == "human" and stop["reasons"]
    assert handed["instruction"] == "wait" and handed["status"] == "open"
    assert decided["instruction"] == "proceed_with_changes"
    assert decided["action"] == {"option": "partial refund", "amount": "40.00"}
    assert decided["approval_token"]
    assert memory["results"][0]["case"] == stop["case_id"]
    assert refused.isError
    assert "unknown_journey" in refused.content[0].text


def test_an_unreachable_product_is_a_clear_tool_error(product):
    async def ask():
        parameters = server_parameters(product, HITL_URL="http://127.0.0.1:9")
        async with (
            stdio_client(parameters) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool("get_case", {"case_id": "x"})

    answer = asyncio.run(ask())
    assert answer.isError
    assert "do not act" in answer.content[0].text


def test_the_server_refuses_to_start_without_its_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}
    ran = subprocess.run(
        [sys.executable, "-m", "hitl_oversight_client.mcp"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 1
    assert "Set HITL_URL" in ran.stderr
