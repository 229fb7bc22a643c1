"""Standard wording and banned phrases (服务用语 / 服务忌语) of 001 第五十三条、第五十四条 (EXE-7).

``STANDARD`` is the standard wording scripts show; ``BANNED`` the 服务忌语 as data.
``find_banned(text)`` returns the banned phrases a call note seems to contain (the
record keeps them as ``banned_phrases`` and REV-1 draws the record for review).

Matching works on a normalised text (NFKC: full-width punctuation and letters become
half-width; whitespace removed) against each phrase's *core words*, so "你有完没完"
is found inside a longer note and "你有完 没完?" too. Cores are chosen to avoid silly
false positives: "喂" alone is only banned as the exclamation "喂!" (never inside
"喂养"), "不知道" only as an answer standing on its own ("不知道。"), not inside
"客户不知道经纪人是谁"; "讨厌" only as the exclamation. It is a *suspicion* for the
reviewer, not a verdict.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# 001 第五十三条 1. 服务用语 and 第五十四条 19. 服务用语 (telephone).
STANDARD: tuple[str, ...] = (
    "您好,××证券××营业部!",
    "您好,我能帮您做点什么?",
    "您好,有什么需要我帮忙吗?",
    "请问,您办理什么业务?",
    "对不起,我没有听清楚,请您重复一遍好吗?",
    "请稍等!",
    "您的×××填写有误,请重填一下,好吗?",
    "请出示您的证件(身份证等)!",
    "对不起,耽误您的时间了!",
    "没关系,这是我应该做的!",
    "再见!请慢走!",
    "欢迎您再来!再见!",
    "如有任何问题,请拨打我们的电话。再见!",
    "感谢您的建议。再见!",
    "由于我们的疏忽给您添了麻烦,对不起。",
    "我可以帮您做些什么?",
    "我能为您提供哪方面的服务?",
    "我会找出正确答案的。",
    "我所能做的是……",
    "这是能帮助您的人。",
)

# punctuation after NFKC (full-width ,!?;:() become half-width; 。、“” stay)
_P = r"[,.!?;:。、…\"'“”‘’「」()\-~]"
_START = rf"(?:^|{_P})"
_END = rf"(?:$|{_P})"


@dataclass(frozen=True)
class Banned:
    phrase: str  # as 001 第五十三条 2 writes it
    cores: tuple[str, ...]  # regular expressions on the normalised text; any one matches


BANNED: tuple[Banned, ...] = (
    Banned("喂!讲话,你是谁?", (r"喂!", rf"讲话{_P}?你是谁")),
    Banned("不知道。", (rf"{_START}(?:我)?不知道(?:[。!.]|$)",)),
    Banned("喊什么,不能等一会。", (r"喊什么", r"不能等一会")),
    Banned("怎么填的,重新填!", (r"怎么填的",)),
    Banned("没看我正忙着,着什么急。", (r"没看我正忙", r"着什么急")),
    Banned("我解决不了,你找经理去。", (r"我解决不了", r"找经理去")),
    Banned("刚才和你说过了,怎么还问?", (r"刚才(?:和|跟)你说过", r"怎么还问")),
    Banned("你有完没完?", (r"有完没完",)),
    Banned("门口有公告栏,自己看去!", (r"公告栏{_P}?自己看", r"自己看去", r"自己找去")),
    Banned("手续不齐,弄清楚了再来!", (r"弄清楚了?再来",)),
    Banned("这是电脑算得,不信一边自己算去?", (r"自己算去", r"电脑算(?:得|的){_P}?不信")),
    Banned("你问我,我问谁。", (rf"你问我{_P}?我问谁",)),
    Banned("我有什么办法,又不是我让它坏的?", (r"我有什么办法", r"又不是我让它坏")),
    Banned("这是交易所的事,有意见找它去!", (r"有意见找它去", rf"交易所的事{_P}?有意见")),
    Banned("快点!我要下班了!", (r"我要下班了", rf"{_START}快点!")),
    Banned("下班了,不办了!", (rf"下班了{_P}?不办了",)),
    Banned("你管不着,就这态度。", (r"你管不着", r"就这态度")),
    Banned("废话!", (r"废话",)),
    Banned("讨厌!", (rf"{_START}讨厌(?:!|{_END})",)),
)

_COMPILED: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = tuple(
    (b.phrase, tuple(re.compile(c.replace("{_P}", _P)) for c in b.cores)) for b in BANNED
)


def normalise(text: str) -> str:
    """NFKC (full-width → half-width) and no whitespace: the text the cores are matched on."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def find_banned(text: str) -> list[str]:
    """The banned phrases (as 001 writes them) the text seems to contain, in list order."""
    plain = normalise(text)
    if not plain:
        return []
    return [phrase for phrase, cores in _COMPILED if any(c.search(plain) for c in cores)]
