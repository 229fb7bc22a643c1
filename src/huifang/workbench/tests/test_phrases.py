"""EXE-7: the 服务忌语 of 001 第五十三条 are found in call notes; harmless words are not."""

from __future__ import annotations

import pytest

from huifang.workbench.phrases import BANNED, STANDARD, find_banned, normalise


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("客户第三次来电时回访员说了一句你有完没完,客户不满", "你有完没完?"),
        ("你有完 没完?", "你有完没完?"),  # full-width punctuation and spaces
        ("喂!讲话,你是谁?", "喂!讲话,你是谁?"),
        ("喂!", "喂!讲话,你是谁?"),
        ("答:不知道。", "不知道。"),
        ("这是交易所的事,有意见找它去!", "这是交易所的事,有意见找它去!"),
        ("我解决不了,你找经理去", "我解决不了,你找经理去。"),
        ("手续不齐,弄清楚再来", "手续不齐,弄清楚了再来!"),
        ("快点!我要下班了!", "快点!我要下班了!"),
        ("下班了,不办了!", "下班了,不办了!"),
        ("你问我,我问谁", "你问我,我问谁。"),
        ("门口有公告栏,自己看去!", "门口有公告栏,自己看去!"),
        ("废话!", "废话!"),
        ("讨厌!", "讨厌!"),
    ],
)
def test_found(text: str, phrase: str) -> None:
    assert phrase in find_banned(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "客户正在喂养宠物,约定稍后回访",  # 喂 inside another word
        "喂,您好",  # not the exclamation
        "客户不知道经纪人是谁,已告知",  # 不知道 inside a sentence about the client
        "客户讨厌被频繁打扰,建议减少短信",
        "请快点办理转账",
        "客户说这次不办了,改日再来",
        "对不起,耽误您的时间了!感谢您的建议。再见!",
    ],
)
def test_not_found(text: str) -> None:
    assert find_banned(text) == []


def test_several_phrases_in_list_order_once_each() -> None:
    found = find_banned("废话!你有完没完?你有完没完?")
    assert found == ["你有完没完?", "废话!"]


def test_normalise_half_width_and_spaces() -> None:
    assert normalise("你 好!\n(测试)") == "你好!(测试)"


def test_data_is_the_001_lists() -> None:
    assert len(BANNED) == 19
    assert "感谢您的建议。再见!" in STANDARD
    assert all(not find_banned(s) for s in STANDARD)  # the standard wording is never banned
