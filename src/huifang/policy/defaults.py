"""The default policy: SPEC §3 (classification) and §4 (callback rules and CON-*) as data.

Each rule carries its SPEC ID and the seed article it comes from (the citation the
UI shows: "规则 NEW-1 · 来源 004 第十二条(一)1"); ``note`` names the alternatives the
seeds give. Migration ``0003_default_policy`` installs exactly this document as
version 1 (frozen in ``0003_default_policy.json``; a test keeps the two equal), so
changing a default means a new policy version, never an edited migration.
"""

from __future__ import annotations

from typing import Any

from huifang.policy import kinds

POLICY_CODE = "company"
POLICY_NAME = "客户分类与回访制度"
EFFECTIVE_FROM = "2026-01-01"
SYSTEM_AUTHOR = "system"

Rule = dict[str, Any]


def _between(measure: str, low: int | None, high: int | None) -> dict[str, Any]:
    """``low ≤ measure < high`` (含下限, 不含上限), the 2009 standard's reading of "(含)"."""
    condition: dict[str, Any] = {"measure": measure}
    if low is not None:
        condition.update(min=low, min_inclusive=True)
    if high is not None:
        condition.update(max=high, max_inclusive=False)
    return condition


CONTRIBUTION_CLASSES = {
    "classes": [
        {
            "code": "vip",
            "label": "VIP客户（一类）",
            "any_of": [[_between("assets", 10_000_000, None)]],
        },
        {
            "code": "core",
            "label": "核心客户（二类）",
            "any_of": [
                [_between("assets", 250_000, 10_000_000)],
                [_between("commission_year", 5_000, None), _between("assets", 100_000, 250_000)],
            ],
        },
        {
            "code": "potential",
            "label": "潜力客户（三类）",
            "any_of": [
                [_between("assets", 100_000, 250_000)],
                [_between("commission_year", 3_000, 5_000), _between("assets", 10_000, 100_000)],
            ],
        },
        {"code": "ordinary", "label": "普通客户（四类）", "any_of": []},
    ]
}

IMPORTANT_CLASSES = {
    "classes": [
        {
            "code": "important",
            "label": "公司重要客户",
            "any_of": [
                [_between("commission_year", 200_000, None)],
                [_between("assets", 3_000_000, None)],
                [_between("trading_month_max", 10_000_000, None)],
            ],
        }
    ]
}

ACTIVITY_CLASSES = {
    "classes": [
        {
            "code": "active",
            "label": "活跃客户",
            "any_of": [[{"measure": "days_since_trade", "max": 30, "max_inclusive": True}]],
        },
        {
            "code": "less_active",
            "label": "较活跃客户",
            "any_of": [[{"measure": "days_since_trade", "max": 180, "max_inclusive": True}]],
        },
        {"code": "inactive", "label": "不活跃客户", "any_of": []},
    ]
}

VALUE_CLASSES = {
    "classes": [
        {
            "code": "gold",
            "label": "黄金客户",
            "any_of": [[_between("assets", 1_000_000, None)]],
            "callback_every": "two_weeks",
        },
        {
            "code": "silver",
            "label": "白银客户",
            "any_of": [[_between("assets", 200_000, 1_000_000)]],
            "callback_every": "month",
        },
        {"code": "ordinary", "label": "普通客户", "any_of": [], "callback_every": "quarter"},
    ]
}

SERVICE_PACKAGES = {
    "packages": [
        {
            "code": "cailutong",
            "name": "财路通",
            "motto": "选择财通，财路畅通",
            "classes": ["potential"],
            "new_accounts_of_year": True,
            "entitlements": [
                "理财热线 96336（上海 962336）：准 24 小时服务",
                "免费短信套餐：新股申购策略及上市定价、重要新闻概况、盘后点评、新业务及新产品推荐",
                "免费资讯产品：通过公司网站“网上营业厅”获取投资资讯",
                "专家在线交流：公司网站专家在线服务",
            ],
        },
        {
            "code": "caifutong",
            "name": "财富通",
            "motto": "选择财通，财富满堂",
            "classes": ["core"],
            "includes": "cailutong",
            "entitlements": [
                "专职客户顾问：定期沟通与交流",
                "深度研究报告：“财富通”客户专享的各类研究报告",
                "高级短信套餐：国际市场行情、重大事件提示",
                "绿色通道服务：在营业网点办理业务时优先",
                "投资交流活动：专家授课、投资策略交流、投资产品介绍、新产品知识推广",
            ],
        },
        {
            "code": "caiwutong",
            "name": "财务通",
            "motto": "选择财通，财务自由",
            "classes": ["vip"],
            "includes": "caifutong",
            "entitlements": [
                "税务顾问服务",
                "子女留学服务",
                "高端医疗服务",
                "公司调研服务：邮寄研究报告，与研究员共同调研上市公司",
            ],
        },
    ]
}


def _callback(
    share: float = 1,
    *,
    deadline: dict[str, Any],
    level: str = "branch",
    forms: list[str],
    period: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    coverage: dict[str, Any] = {"share": share}
    if period is not None:
        coverage["period"] = period
    coverage.update(extra.pop("coverage", {}))
    return {"coverage": coverage, "deadline": deadline, "level": level, "forms": forms, **extra}


def _wd(count: int, start: str) -> dict[str, Any]:
    return {"unit": "working_days", "count": count, "start": start}


def _by(period: str) -> dict[str, Any]:
    return {"unit": "period_end", "period": period}


PER_PLAN = {"unit": "per_plan"}
ABN_EXEMPT = ["ABN-1", "ABN-2", "ABN-3", "ABN-4", "MRG-3", "MRG-4", "MRG-6", "SPC-1", "SPC-2"]


def _r(
    code: str,
    kind: str,
    title: str,
    citation: str,
    params: dict[str, Any],
    *,
    note: str = "",
    enabled: bool = True,
    spec_id: str | None = None,
) -> Rule:
    return {
        "code": code,
        "spec_id": spec_id or code.split(".")[0],
        "kind": kind,
        "title": title,
        "citation": citation,
        "note": note,
        "enabled": enabled,
        "params": params,
    }


CLASSIFICATION_RULES: list[Rule] = [
    _r("CLS-1", "class_standard", "客户基本分类（2009年标准）", "003 第三条", CONTRIBUTION_CLASSES,
       note="按上年度末统计日资产和上年度净佣金分四类，依次匹配、先中先得。有意偏离：资产恰为1000万元"
            "按原文（“大于”）落入四类，本制度参照 KEY-1“1000万元(含)以上”归入VIP；各边界是否含等号均为参数。"),
    _r("CLS-2", "rating_window", "年度评级", "003 第六条(二)1",
       {"rating": "annual", "first_working_days": 10, "upgrade_only": False, "keep_months": 12},
       note="新年度前十个工作日对上年末已开户客户评级一次，分类资格至少保留一年。"),
    _r("CLS-3", "rating_window", "季度评级", "003 第六条(二)2",
       {"rating": "quarterly", "first_working_days": 3, "upgrade_only": True},
       note="季度初前三个工作日按上季度末数据评级，随时升级、不降级（就高不就低）。"),
    _r("CLS-4", "rating_window", "新开户客户动态分类", "003 第六条(二)3",
       {"rating": "new_accounts", "first_working_days": 3, "upgrade_only": True},
       note="每月初前三个工作日对上月新开户客户分类；营业部可随时对重要新客户分类。"),
    _r("CLS-5", "standard_change_limit", "分类标准调整周期", "003 第六条(一)",
       {"max_changes_per_year": 1},
       note="调整周期原则上不低于一年；确需调整的，由合规人员说明理由后批准。"),
    _r("CLS-6", "service_packages", "“财运亨通”服务产品", "003 第五条", SERVICE_PACKAGES,
       note="财路通（当年新开户及潜力客户）、财富通（核心客户）、财务通（VIP客户），高一级包含低一级。"),
    _r("CLS-7", "adviser_coverage", "专属理财服务人员与上门拜访",
       "001 第七十九条(一)；003 第四条；001 第七十九条(八)",
       {"standard": "CLS-1", "adviser_classes": ["vip", "core"],
        "visits": [{"standard": "CLS-1", "classes": ["vip", "core"], "visits_per_year": 1},
                   {"standard": "CLS-8.important", "classes": ["important"], "visits_per_year": 1}]},
       note="VIP和核心客户配备本营业部的专属理财服务人员，每年上门拜访不少于一次；重要客户年度拜访100%。"),
    _r("CLS-8.important", "class_standard", "公司重要客户", "004（2019 回访制度）第三条",
       IMPORTANT_CLASSES,
       note="年佣金20万元(含)以上，或资产300万元(含)以上，或月交易金额达到1000万元；"
            "有重大战略合作意义的客户由人工认定（IMP-1）。"),
    _r("CLS-8.activity", "class_standard", "客户活跃度", "004 离职人员客户回访规定 四、1(2)",
       ACTIVITY_CLASSES, enabled=False,
       note="种子只给出活跃、较活跃、不活跃三档，未给阈值：30天、180天为示例参数。"),
    _r("CLS-8.value", "class_standard", "黄金/白银/普通客户", "004 离职人员客户回访规定 四、1(1)、2",
       VALUE_CLASSES, enabled=False,
       note="回访周期：黄金每两周、白银每月、普通每季度；种子未给分档阈值，资产100万元、20万元为示例参数。"),
]  # fmt: skip

OBLIGATION_RULES: list[Rule] = [
    _r("NEW-1", "new_account_callback", "证券经纪人引荐的新开户客户", "004 第十二条(一)1；004 经纪人 第三条、第五条",
       _callback(deadline=_wd(5, "opening"), forms=["F1", "F-BRK"], handled_by="branch_ops",
                 introduced_by="broker"),
       note="备选：营销人员引荐的客户3个工作日（000 实施细则 5.1）；一个月（001 第七十八条(五)、证监会2010年规定）；"
            "由公司呼叫中心回访（004 经纪人 第九条(一)）。"),
    _r("NEW-2", "new_account_callback", "其他新开户客户（抽样）", "004 第十二条(一)2",
       _callback(0.3, period="month", deadline=_wd(5, "opening"), forms=["F1"], handled_by="branch_ops",
                 introduced_by="not_broker"),
       note="每个营业部按月累计抽样不少于30%（CON-8）。"),
    _r("NEW-3", "new_account_callback", "公司级新开户抽样回访", "004（2019 回访制度）第七条",
       _callback(0.1, period="week", coverage={"min_share": 0.05, "max_share": 0.25},
                 deadline={"unit": "calendar_days", "count": 7, "start": "week_end"}, level="company",
                 forms=["F1"], handled_by="call_center", introduced_by="any"),
       note="每周新开户客户抽取5%–25%（默认10%），下周内完成（参数）。"),
    _r("KEY-1", "asset_threshold_callback", "资产1000万元(含)以上客户", "004 第三条、第十一条",
       _callback(period="year", deadline=_by("year"), level="company", forms=["F2"],
                 handled_by="call_center", min_assets=10_000_000),
       note="每年一次，覆盖率100%；证券经纪人本人的年度回访见 BRK-4。"),
    _r("CORE-1", "class_callback", "核心客户月度服务回访", "004 第十三条 1",
       _callback(period="month", deadline=_by("month"), forms=["F2", "archive"],
                 handled_by="branch_marketing", kind="service", standard="CLS-1", classes=["vip", "core"])),
    _r("SMALL-1", "small_dormant_callback", "小额及休眠客户回访", "004 第十三条 2",
       _callback(0.2, period="half_year", deadline=_by("half_year"), forms=["F2", "archive"],
                 handled_by="branch_marketing", kind="service", small_classes=["ordinary"],
                 dormant_days=180),
       note="休眠：180天（参数）无交易；无交易记录的客户开户满180天方为休眠。"),
    _r("STOCK-1", "data_verification_callback", "存量客户资料核实、补齐或更正", "004 第十二条(二)",
       _callback(deadline=_wd(10, "listing"), forms=["F2"], handled_by="branch_ops")),
    _r("ABN-1", "top_n_callback", "每周资产转入前N名客户", "004（2019 回访制度）第六条 1",
       _callback(deadline=_wd(3, "ranking"), level="company_and_branch", forms=["F3"], cap_exempt=True,
                 ranking="inflow", top_company=50, top_branch=5),
       note="转入含银证转入、转托管转入、指定交易转入；公司前50名、每营业部前5名（参数）。"),
    _r("ABN-2", "top_n_callback", "每周资产转出前N名客户", "004（2019 回访制度）第六条 2",
       _callback(deadline=_wd(3, "ranking"), level="company_and_branch", forms=["F3"], cap_exempt=True,
                 ranking="outflow", top_company=50, top_branch=5)),
    _r("ABN-3", "top_n_callback", "每周交易量前N名客户", "004（2019 回访制度）第六条 3",
       _callback(deadline=_wd(3, "ranking"), level="company_and_branch", forms=["F3"], cap_exempt=True,
                 ranking="traded", top_company=50, top_branch=5, rank_warrants_separately=True),
       note="股票交易额排名，权证单独排名。"),
    _r("ABN-4", "event_callback", "其他潜在风险客户", "004（2019 回访制度）第六条 4；002 第十三条(六)",
       _callback(deadline=_wd(3, "event"), level="company", forms=["F3"], handled_by="call_center",
                 cap_exempt=True, sources=["manual", "margin_events"], event_types=["abnormal_trade"]),
       note="人工标记或 abnormal_trade 事件触发。"),
    _r("DEP-1", "departure_callback", "离职人员引荐或服务的客户", "004 离职人员客户回访规定 四",
       _callback(deadline=_wd(10, "leave_date"), forms=["F2", "retention"]),
       note="离职后10个工作日内（参数）；记录交接的继任人员；每份记录报营业部负责人。"),
    _r("PROD-1", "product_callback", "购买信托、基金专户或私募产品", "000 代销细则 第四条(一)",
       _callback(deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"], criterion="special_product",
                 product_types=["trust", "fund_special_account", "private_fund"]),
       note="基金专户须有第三方投资顾问，私募须经基金业协会备案；24小时冷静期后3个工作日内（参数）；"
            "备选：由总部客户服务中心回访（000 代销细则 第三条）。"),
    _r("PROD-2", "product_callback", "客户风险等级与产品不匹配", "000 代销细则 第四条(二)",
       _callback(deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"], criterion="risk_mismatch")),
    _r("PROD-3", "product_callback", "高风险产品", "000 代销细则 第四条(三)",
       _callback(deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"], criterion="high_risk_product",
                 high_risk_levels=["R4", "R5"])),
    _r("PROD-4", "product_callback", "购买时年满70周岁的客户", "000 代销细则 第四条(四)",
       _callback(deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"], criterion="elderly_client",
                 min_age=70)),
    _r("PROD-5", "product_callback", "购买金额500万元(含)以上", "000 代销细则 第四条(五)",
       _callback(deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"], criterion="large_amount",
                 min_amount=5_000_000)),
    _r("PROD-6", "product_callback", "审查委员会指定的客户", "000 代销细则 第四条(六)",
       _callback(deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"], criterion="named_by_committee")),
    _r("PROD-7", "product_callback", "其他非公募产品购买（抽样）", "000 代销细则 第五条",
       _callback(0.1, period="month", deadline=_wd(3, "purchase_cooling_off"), forms=["F-PROD"],
                 criterion="other_non_public",
                 product_types=["trust", "fund_special_account", "private_fund", "asset_management", "other"])),
    _r("MRG-1", "event_callback", "融资融券申请", "002 第十三条(九)",
       _callback(deadline={"unit": "on_receipt"}, level="company", forms=["F-MRG"], handled_by="credit",
                 methods=["phone"], recorded_phone=True, sources=["applications"],
                 event_types=["credit_application"]),
       note="（实务）总部收到申请时、审批前回访，电话录音。"),
    _r("MRG-2", "event_callback", "信用账户开立", "002 第十三条(十)",
       _callback(deadline=_wd(5, "event"), level="company", forms=["F-MRG"], handled_by="credit",
                 methods=["phone"], recorded_phone=True, sources=["margin_events"],
                 event_types=["credit_account_opened"])),
    _r("MRG-3", "event_callback", "追加担保物通知", "002 第八条(一)、第十三条(四)",
       _callback(deadline={"unit": "trading_days", "count": 1, "start": "event"}, forms=["F-MRG"],
                 cap_exempt=True, sources=["margin_events"], event_types=["margin_call"],
                 follow_until="margin_call_resolved"),
       note="当面或可留痕的电子渠道确认，跟踪至追保解除；接口可日内触发。"),
    _r("MRG-4", "event_callback", "强制平仓通知", "002 第十三条(五)",
       _callback(deadline={"unit": "trading_days", "count": 1, "start": "event"}, forms=["F-MRG"],
                 cap_exempt=True, sources=["margin_events"], event_types=["forced_liquidation"])),
    _r("MRG-5", "event_callback", "标的证券重大事件、风险揭示", "002 第八条(三)、第十三条(二)(三)",
       _callback(deadline=_wd(2, "event"), forms=["F-MRG"], methods=["sms", "email", "questionnaire", "wechat"],
                 sources=["margin_events"], event_types=["underlying_major_event", "risk_disclosure"])),
    _r("MRG-6", "event_callback", "异常交易、授信变更、资讯产品跟踪", "002 第十三条(六)至(八)",
       _callback(deadline=_wd(3, "event"), forms=["F-MRG"], sources=["margin_events"],
                 event_types=["abnormal_trade", "credit_change"]),
       note="其中异常交易部分不计入季度上限（CON-3）。"),
    _r("MRG-7", "population_callback", "信用客户月度回访", "002 第十四条",
       _callback(period="month", deadline=_by("month"), forms=["F-MRG"], handled_by="branch_service",
                 kind="service", population="margin_clients")),
    _r("MRG-8", "plan_callback", "督导回访（服务人员评分）", "002 第十六条、第十七条",
       _callback(coverage={"per_plan": True}, deadline=PER_PLAN, forms=["scorecard"],
                 handled_by="branch_supervisor")),
    _r("CMP-1", "event_callback", "投诉处理后回访", "002 第十三条(十一)；004 经纪人 第三条、第五条",
       _callback(deadline=_wd(2, "closure"), forms=["F3", "complaint"], sources=["complaints"],
                 event_types=["complaint"]),
       note="重大投诉由总部回访。"),
    _r("SPC-1", "plan_callback", "专项回访", "004 第十条、第十二条(三)、第十四条",
       _callback(coverage={"per_plan": True}, deadline=PER_PLAN, level="company_and_branch", forms=["F3"],
                 handled_by="ordering_department", cap_exempt=True, records_back_within_working_days=5)),
    _r("SPC-2", "event_callback", "重要业务操作确认", "004 第十条",
       _callback(deadline=_wd(3, "event"), forms=["F3", "operation_check"], handled_by="branch_ops",
                 cap_exempt=True, sources=["account_events"],
                 event_types=["large_asset_change", "account_closed", "password_reset",
                              "new_business_opened", "agent_changed", "agreement_signed"])),
    _r("IMP-1", "class_callback", "重要客户年度回访", "004（2019 回访制度）第二条至第五条",
       _callback(period="year", deadline=_by("year"), level="company_and_branch", forms=["F2"],
                 handled_by="market", standard="CLS-8.important", classes=["important"],
                 include_designated=True),
       note="营业部重要客户由营业部自行认定。"),
    _r("ADV-1", "population_callback", "投资顾问服务签约客户", "004 2017细则 第六条",
       _callback(period="year", deadline=_by("year"), forms=["F2", "adviser_items"],
                 population="advisory_contract")),
    _r("IB-1", "plan_callback", "投行业务客户全面回访", "000 投行办法 第三条至第八条",
       _callback(coverage={"per_plan": True}, deadline=PER_PLAN, level="company", forms=["F-IB"],
                 handled_by="ib_qc")),
    _r("PLAN-1", "plan_callback", "其他回访计划（如港股通客户）",
       "000 代销私募细则 三.1；000 港股通模板 三.2；004 经纪人 第六条",
       _callback(coverage={"per_plan": True}, deadline=PER_PLAN, forms=["chosen"])),
    _r("TX-1", "trade_callback", "交易回访与流失客户回访", "004 回访模板 2.2",
       _callback(deadline={"unit": "hours", "count": 24, "start": "event"}, forms=["F2"]),
       enabled=False, note="默认关闭。"),
]  # fmt: skip

CONSTRAINT_RULES: list[Rule] = [
    _r("CON-1", "recusal", "回避", "004 第四条、第十二条；004 xx证券 4.2；004 2017细则 第五条",
       {"relations": ["introducer", "broker", "adviser"], "reviewer_own_record": True}),
    _r("CON-2", "independence", "回访人员独立性",
       "004 xx证券 4.2、第八条；004 经纪人 第四条；004 2017细则 第五条；000 实施细则 4.2",
       {"barred_positions": ["marketing", "broker", "adviser"],
        "barred_for_broker_clients": ["marketing", "broker", "adviser", "service"],
        "exempt_rules": ["CORE-1", "SMALL-1", "MRG-7"]}),
    _r("CON-3", "quarterly_cap", "每季度回访次数上限", "000 实施细则 4.3",
       {"max_per_quarter": 2, "exempt_rules": ABN_EXEMPT}),
    _r("CON-4", "one_contact", "避免一事一扰", "000 实施细则 4.1", {"group_by": ["client", "level", "kind"]}),
    _r("CON-5", "call_hours", "允许呼叫时段", "000 实施细则 4.3", {"start": "09:00", "end": "20:00"}),
    _r("CON-6", "callback_levels", "公司与营业部两级回访", "000 实施细则 第三条", {"company_spot_check_share": 0.1}),
    _r("CON-7", "sampling_seed", "可复现抽样", "（实务）", {"seed_from": ["policy_version", "rule", "period"]}),
    _r("CON-8", "cumulative_sampling", "按期累计抽样", "（实务）", {"strata": ["branch", "company"]}),
]  # fmt: skip


def default_rules() -> list[Rule]:
    """Every rule of the default policy, parameters normalised by their kinds."""
    rules = CLASSIFICATION_RULES + OBLIGATION_RULES + CONSTRAINT_RULES
    return [{**rule, "params": kinds.normalise(rule["kind"], rule["params"])} for rule in rules]


def default_document() -> dict[str, Any]:
    """The default policy as a document (the format of ``huifang policy export/load``)."""
    return {
        "policy": {"code": POLICY_CODE, "name": POLICY_NAME},
        "version": {
            "effective_from": EFFECTIVE_FROM,
            "reason": "默认制度：SPEC §3 客户分类、§4 回访规则及约束（种子 000–004）",
            "author": SYSTEM_AUTHOR,
        },
        "rules": default_rules(),
    }
