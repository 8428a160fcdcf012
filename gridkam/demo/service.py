"""Six months of service requests for the demo, through the real service-desk services.

Each request is logged for a demo customer by its routed assignee (the account team's field engineer for field
work, else the account manager: the acting users are always the customer's current account team), at a time of
the past six months, and then lived through with ``request_reply``, ``request_status``, ``request_onsite`` and
``request_reopen`` at the times its story needs (every call gets ``now=``). The times are placed on the request's
own SLA clock (24×7 for repairs, working hours otherwise, as in its policy), as fractions of its targets:

- most requests were answered, repaired on site (repairs) and resolved within their targets, then closed after
  the customer confirmed, most with a satisfaction score (1–5);
- some were late: first response, arrival on site or resolution after the due time; the breach is recorded as
  the SLA job would have recorded it then (flag and an "SLA breached" event at the due time);
- some waited for the customer (the SLA clock stood still) before being resolved; two were reopened;
- open today: just assigned, in progress, waiting for the customer (paused), resolved and not yet confirmed,
  a few near their resolution deadline and a few past it.

Then the SLA sweep runs at ``now``: the requests near their deadline are warned, the ones past it breached and
escalated to the team lead (tasks and notices as in production). Deterministic for a seed and a moment.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridkam.core import clocks
from gridkam.core.choices import ClockKind
from gridkam.customers.choices import AccountStatus, AssignmentRole, Tier
from gridkam.customers.models import AccountAssignment, Customer, ElectricityAccount
from gridkam.engagement.models import VisitFollowUp
from gridkam.servicedesk.choices import (
    OPEN_STATUSES,
    Channel,
    EventKind,
    Priority,
    RequestStatus,
    RequestType,
    SlaTarget,
)
from gridkam.servicedesk.models import RequestEvent, ServiceRequest, SlaPolicy
from gridkam.servicedesk.services import request_create, request_onsite, request_reopen, request_reply, request_status
from gridkam.servicedesk.sla import sla_policies_load, sla_sweep

S = RequestStatus
PER_CUSTOMER = 1.75  # requests per customer over the six months when no count is given
HISTORY_DAYS = 182
FIELD_TYPES = {RequestType.REPAIR, RequestType.POWER_QUALITY, RequestType.METERING}
TYPES = {
    RequestType.REPAIR: 0.22,
    RequestType.BILLING_INQUIRY: 0.20,
    RequestType.CONSULTATION: 0.15,
    RequestType.METERING: 0.13,
    RequestType.POWER_QUALITY: 0.11,
    RequestType.CAPACITY_CHANGE: 0.11,
    RequestType.COMPLAINT: 0.05,
    RequestType.OTHER: 0.03,
}
PRIORITIES = {
    RequestType.REPAIR: {Priority.URGENT: 0.55, Priority.HIGH: 0.35, Priority.NORMAL: 0.10},
    RequestType.COMPLAINT: {Priority.HIGH: 0.6, Priority.NORMAL: 0.4},
    RequestType.POWER_QUALITY: {Priority.HIGH: 0.35, Priority.NORMAL: 0.65},
    RequestType.METERING: {Priority.HIGH: 0.2, Priority.NORMAL: 0.7, Priority.LOW: 0.1},
    "default": {Priority.HIGH: 0.1, Priority.NORMAL: 0.7, Priority.LOW: 0.2},
}
CHANNELS = {
    RequestType.REPAIR: {Channel.HOTLINE_95598: 0.5, Channel.MANAGER_LINE: 0.5},
    RequestType.COMPLAINT: {Channel.HOTLINE_95598: 0.8, Channel.MANAGER_LINE: 0.2},
    RequestType.CAPACITY_CHANGE: {Channel.VIP_DESK: 0.45, Channel.MANAGER_LINE: 0.35, Channel.VISIT: 0.2},
    RequestType.BILLING_INQUIRY: {Channel.MANAGER_LINE: 0.45, Channel.PORTAL: 0.3, Channel.VIP_DESK: 0.25},
    "default": {Channel.MANAGER_LINE: 0.5, Channel.PORTAL: 0.2, Channel.VISIT: 0.2, Channel.HOTLINE_95598: 0.1},
}
# Bigger customers call more.
TIER_WEIGHTS = {Tier.SPECIAL: 3.0, Tier.FIRST: 2.0, Tier.SECOND: 1.5, Tier.THIRD: 1.0}
# Types that may wait for the customer (documents, a window for a test).
PAUSABLE = {
    RequestType.BILLING_INQUIRY,
    RequestType.CAPACITY_CHANGE,
    RequestType.METERING,
    RequestType.POWER_QUALITY,
    RequestType.CONSULTATION,
}
# Open-today stories: share of the requests (at least one each).
OPEN_SHARES = {"assigned": 0.03, "in_progress": 0.05, "waiting": 0.03, "resolved": 0.02, "near": 0.015, "late": 0.015}
LATE_SHARE = 0.13  # closed requests with a target missed
PAUSE_SHARE = 0.2  # closed requests of a pausable type that waited for the customer
SCORED_SHARE = 0.85  # closed requests the customer scored at the return visit
SCORES_ON_TIME = {5: 0.62, 4: 0.3, 3: 0.06, 2: 0.02}
SCORES_LATE = {5: 0.15, 4: 0.35, 3: 0.3, 2: 0.15, 1: 0.05}

# (title, description, first reply, resolution note) per type; {account} and {point} are filled in.
TEXTS: dict[str, list[tuple[str, str, str, str]]] = {
    RequestType.REPAIR: [
        (
            "10kV 进线开关跳闸，全厂停电",
            "客户值班电工来电：10kV 进线开关跳闸，全厂停电，户号 {account}，请求尽快派员抢修。",
            "已收到报修，抢修人员正赶赴现场，预计 30 分钟内到达。",
            "查明为进线电缆终端头击穿，已更换终端头并恢复送电。",
        ),
        (
            "配电变压器高温告警",
            "户号 {account} 1 号配电变压器温度告警，客户已减负荷运行，请求到场检查。",
            "已安排抢修班组前往现场检查变压器。",
            "冷却风扇故障导致温升，已更换风扇，变压器温度恢复正常。",
        ),
        (
            "厂区部分车间失电",
            "客户反映二号车间失电，其他车间正常，户号 {account}。",
            "已收到，值班工程师正在联系客户并前往现场。",
            "低压出线断路器脱扣，检查无短路后已合闸送电，建议客户排查车间负荷。",
        ),
        (
            "线路故障导致电压骤降，生产线停机",
            "客户 10 时许多条生产线因电压暂降停机，怀疑外部线路故障，请求查明原因。",
            "已通知调度核查线路故障记录，抢修人员同步赶往现场。",
            "外部线路遭雷击重合闸成功，客户侧设备无损坏，已向客户说明并建议加装低电压穿越装置。",
        ),
        (
            "高压计量柜冒烟",
            "客户巡检发现高压计量柜有焦糊味并冒烟，已紧急拉闸，户号 {account}。",
            "请客户保持断电状态，勿靠近设备，抢修人员正在赶往现场。",
            "计量柜内电压互感器绝缘损坏，已更换并试验合格后恢复送电。",
        ),
    ],
    RequestType.BILLING_INQUIRY: [
        (
            "本月电费异常偏高",
            "客户反映户号 {account} 本月电费较上月增加约 30%，产量并无明显变化，请求核查。",
            "已收到，正在调取抄表数据与计费明细核对，核对结果将尽快答复。",
            "核对无误：本月峰段用电占比上升且执行了季节性尖峰电价，已向客户逐项解释计费明细。",
        ),
        (
            "基本电费计收方式咨询",
            "客户咨询户号 {account} 由按容量改为按需量计收基本电费的条件和办理流程。",
            "已收到，正在测算两种计收方式下的基本电费差异。",
            "已向客户提供测算表：按需量计收每年可节省基本电费约 8%，客户已提交变更申请。",
        ),
        (
            "功率因数调整电费咨询",
            "客户对本月功率因数调整电费（力调电费）有疑问，户号 {account}。",
            "已收到，正在核查无功电量及功率因数考核标准。",
            "本月功率因数 0.86 低于 0.90 考核标准，已解释力调电费计算方法，建议检查补偿电容器投运情况。",
        ),
        (
            "申请开具增值税专用发票",
            "客户财务申请开具户号 {account} 近三个月电费增值税专用发票。",
            "已收到，正在核对开票信息。",
            "增值税专用发票已开具，并通过快递寄送客户财务部门。",
        ),
        (
            "预付电费余额及扣费明细查询",
            "客户要求提供户号 {account} 本年度电费缴纳及扣费明细。",
            "已收到，正在导出缴费及扣费记录。",
            "已将全年电费缴纳及扣费明细表发送客户财务邮箱。",
        ),
    ],
    RequestType.POWER_QUALITY: [
        (
            "谐波超标，电容器频繁损坏",
            "客户反映无功补偿电容器近期多次损坏，怀疑谐波超标，申请电能质量检测。",
            "已收到，将安排电能质量检测，请客户配合提供生产计划以选择检测时段。",
            "检测显示 5 次、7 次谐波电流超标，已出具检测报告并建议加装滤波装置。",
        ),
        (
            "电压波动影响精密设备",
            "客户精密加工设备频繁报警停机，怀疑供电电压波动，户号 {account}。",
            "已收到，将在客户侧安装电能质量在线监测装置。",
            "监测一周，电压偏差在国标限值内，设备报警与厂内大功率设备启动有关，已给出治理建议。",
        ),
        (
            "三相电压不平衡",
            "客户反映三相电压不平衡导致电机过热，请求检测。",
            "已收到，检测人员将与客户预约现场检测时间。",
            "三相不平衡度 1.2%，符合国标；客户侧单相负荷分配不均，已协助客户调整负荷分配。",
        ),
    ],
    RequestType.CAPACITY_CHANGE: [
        (
            "新增生产线申请增容",
            "客户计划新增一条生产线，申请户号 {account} 增容 1250kVA。",
            "已收到增容申请，客户经理将协助梳理报装资料并预约现场勘查。",
            "已完成现场勘查并答复供电方案，客户确认方案后进入设计阶段。",
        ),
        (
            "暂停一台变压器（减容）",
            "受订单影响，客户申请暂停户号 {account} 一台 800kVA 变压器三个月。",
            "已收到，将核对减容条件并安排封停。",
            "已办理暂停手续并对变压器加封，基本电费自次月起按暂停后容量计收。",
        ),
        (
            "恢复暂停变压器",
            "客户订单恢复，申请提前恢复户号 {account} 已暂停的变压器。",
            "已收到，将安排启封并核对计量装置。",
            "已完成启封送电，基本电费自恢复之日起按原容量计收。",
        ),
    ],
    RequestType.METERING: [
        (
            "电能表显示异常",
            "客户反映计量点 {point} 电能表屏幕显示乱码，担心计量不准。",
            "已收到，装表接电人员将到现场检查电能表。",
            "电能表显示模块故障，已换表并由客户签字确认换表底数。",
        ),
        (
            "申请电能表校验",
            "客户对计量点 {point} 计量准确性有疑问，申请现场校验。",
            "已收到校验申请，将预约现场校验时间。",
            "现场校验误差 +0.1%，在允许范围内，校验报告已交客户。",
        ),
        (
            "采集数据中断",
            "客户在网上国网无法查看户号 {account} 近三天的用电数据。",
            "已收到，正在核查用电信息采集终端在线状态。",
            "采集终端通信模块故障，已更换，数据已补采完整。",
        ),
    ],
    RequestType.CONSULTATION: [
        (
            "分时电价政策咨询",
            "客户咨询最新分时电价政策及峰谷时段调整对生产成本的影响。",
            "已收到，客户经理将整理政策要点并结合客户用电曲线测算。",
            "已向客户讲解分时电价政策并提供调整生产班次的用电建议。",
        ),
        (
            "市场化购电咨询",
            "客户咨询参与电力市场化交易的准入条件和售电公司选择。",
            "已收到，将于本周内向客户介绍市场化交易规则。",
            "已向客户介绍市场化交易规则、准入流程及注意事项。",
        ),
        (
            "光伏并网咨询",
            "客户计划建设屋顶分布式光伏，咨询并网流程和余电上网政策。",
            "已收到，将提供分布式光伏并网办理指南。",
            "已提供并网指南及接入系统方案要求，客户将委托设计单位编制方案。",
        ),
        (
            "节能改造补贴咨询",
            "客户咨询空压机变频改造可申请的节能补贴政策。",
            "已收到，正在了解当地节能补贴政策。",
            "已向客户提供节能补贴申报要求和能效诊断服务介绍。",
        ),
    ],
    RequestType.COMPLAINT: [
        (
            "投诉停电未提前通知",
            "客户通过 95598 投诉：计划检修停电未提前通知，造成生产损失。",
            "非常抱歉给您带来不便，我们已核查停电通知发送情况，客户经理将当面沟通。",
            "经核实停电通知未送达客户联系人，已更新客户联系人信息并当面致歉，客户表示理解。",
        ),
        (
            "投诉抢修到达不及时",
            "客户投诉上次故障抢修人员到场时间过长。",
            "已收到投诉，正在调取抢修工单记录核查。",
            "经核查当日恶劣天气道路受阻，已向客户说明并改进抢修力量部署。",
        ),
    ],
    RequestType.OTHER: [
        (
            "变更客户联系人",
            "客户电气负责人更换，申请变更户号 {account} 的联系人信息。",
            "已收到，请提供新联系人信息及授权书。",
            "联系人信息已变更，停电通知和电费短信将发送至新联系人。",
        ),
    ],
}
WAIT_NOTES = {
    RequestType.CAPACITY_CHANGE: "已通知客户补充用电设备清单及规划许可证明，待客户提交资料。",
    RequestType.BILLING_INQUIRY: "请客户提供近三个月生产报表，以便比对用电量变化，待客户提交。",
    RequestType.METERING: "客户要求在生产间隙安排现场工作，待客户确定时间。",
    RequestType.POWER_QUALITY: "待客户确认检测期间的生产安排。",
    RequestType.CONSULTATION: "待客户提供用电负荷曲线资料。",
}
RESUME_NOTE = "客户已提交资料，继续办理。"
CLOSE_NOTE = "已回访客户，客户确认问题已解决。"
REOPEN_NOTES = ["客户反映问题再次出现，重新处理。", "客户对处理结果有异议，重新核查。"]
REPAIR_ONSITE_REPLY = "抢修人员已到达现场，正在查找故障点。"


@dataclass
class Story:
    """One request's plan: what it is and the times of its steps, before anything is written."""

    customer: Customer
    request_type: str
    priority: str
    channel: str
    texts: tuple[str, str, str, str]
    actor: object
    account: ElectricityAccount | None
    point: object | None
    created: dt.datetime
    kind: str  # closed / late / reopened / assigned / in_progress / waiting / resolved / near / late_open
    reply: dt.datetime | None = None
    onsite: dt.datetime | None = None
    pause: tuple[dt.datetime, dt.datetime | None] | None = None
    resolved: dt.datetime | None = None
    closed: dt.datetime | None = None
    reopened: dt.datetime | None = None
    resolved_again: dt.datetime | None = None
    closed_again: dt.datetime | None = None
    score: int | None = None
    extra: dict = field(default_factory=dict)


def _weighted(rng: random.Random, choices: dict):
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def _at(start: dt.datetime, minutes: float, clock: str, pauses=()) -> dt.datetime:
    """The moment ``minutes`` have run on the clock from ``start``."""
    return clocks.deadline(start, max(1, round(minutes)), clock, pauses)


def _start_for(end: dt.datetime, minutes: float, clock: str) -> dt.datetime:
    """The latest start from which ``minutes`` have run on the clock by ``end`` (to the minute)."""
    minutes = max(1, round(minutes))
    if clock != ClockKind.WORKING:
        return end - dt.timedelta(minutes=minutes)
    low, high = end - dt.timedelta(days=120), end  # elapsed(low) >= minutes > elapsed(high)
    while high - low > dt.timedelta(minutes=1):
        middle = low + (high - low) / 2
        if clocks.elapsed(middle, end, clock) >= minutes:
            low = middle
        else:
            high = middle
    return low.replace(second=0, microsecond=0)


def _working_time(moment: dt.datetime, rng: random.Random) -> dt.datetime:
    """A moment in working hours shortly after ``moment`` (people call during office hours)."""
    return _at(moment, rng.randint(5, 420), ClockKind.WORKING).replace(second=0, microsecond=0)


def _teams() -> dict[int, dict[str, object]]:
    """Customer id → {role: user} of the current account teams (one query)."""
    teams: dict[int, dict[str, object]] = {}
    rows = AccountAssignment.objects.filter(end_date__isnull=True, user__is_active=True).select_related("user")
    for row in rows.order_by("customer_id", "role", "pk"):
        teams.setdefault(row.customer_id, {})[row.role] = row.user
    return teams


def _policy_minutes(policies: dict, tier: str, request_type: str, priority: str) -> tuple[str, int, int | None, int]:
    policy = policies.get((tier, request_type, priority)) or policies[(Tier.THIRD, request_type, priority)]
    return policy.clock, policy.response_minutes, policy.onsite_minutes, policy.resolution_minutes


def _kinds(count: int, rng: random.Random) -> list[str]:
    kinds = []
    for kind, share in OPEN_SHARES.items():
        kinds += [kind if kind != "late" else "late_open"] * max(1, round(count * share))
    kinds += ["reopened"] * (2 if count >= 40 else 1)
    late = max(1, round(count * LATE_SHARE))
    kinds += ["late"] * late
    kinds += ["closed"] * max(0, count - len(kinds))
    rng.shuffle(kinds)
    return kinds[:count]


def _story(
    kind: str, customer: Customer, team: dict, accounts: list, policies: dict, rng: random.Random, now: dt.datetime
) -> Story:
    types = dict(TYPES)
    if kind in ("assigned", "waiting"):
        types = {t: w for t, w in types.items() if t in PAUSABLE}
    request_type = _weighted(rng, types)
    priority = _weighted(rng, PRIORITIES.get(request_type, PRIORITIES["default"]))
    channel = _weighted(rng, CHANNELS.get(request_type, CHANNELS["default"]))
    engineer = team.get(AssignmentRole.FIELD_ENGINEER)
    actor = engineer if request_type in FIELD_TYPES and engineer is not None else team[AssignmentRole.MANAGER]
    account = rng.choice(accounts) if accounts else None
    points = list(account.metering_points.all()) if account is not None else []
    point = rng.choice(points) if points and request_type == RequestType.METERING else None
    template = rng.choice(TEXTS[request_type])
    values = {"account": account.account_no if account else "", "point": point.code if point else ""}
    texts = tuple(text.format(**values) for text in template)
    clock, response, onsite, resolution = _policy_minutes(policies, customer.tier, request_type, priority)
    story = Story(customer, request_type, priority, channel, texts, actor, account, point, now, kind)
    repair = request_type == RequestType.REPAIR
    u = rng.uniform

    if kind in ("closed", "late", "reopened"):
        # Late: first response, arrival on site or resolution missed (one or two of them).
        late = set()
        if kind == "late":
            options = ["response", "resolution", "resolution"] + (["onsite", "onsite"] if repair else [])
            late = set(rng.sample(options, k=1 if rng.random() < 0.7 else 2))
        shift = dt.timedelta(days=0)
        raw = now - dt.timedelta(days=u(8, HISTORY_DAYS), minutes=rng.randint(0, 1439))
        factors = {
            "reply": u(1.2, 3.0) if "response" in late else u(0.15, 0.85),
            "onsite": u(1.1, 1.6) if "onsite" in late else u(0.35, 0.9),
            "resolution": u(1.05, 1.8) if "resolution" in late else u(0.3, 0.9),
            "pause": u(0.15, 0.35) if request_type in PAUSABLE and rng.random() < PAUSE_SHARE else None,
            "pause_days": u(0.8, 5.0),
            "pause_end": rng.randint(5, 420),
            "close": rng.randint(60, 900),
            "reopen_days": u(1.0, 4.0),
            "again": rng.randint(60, 600),
            "close_again": rng.randint(60, 600),
        }
        for _attempt in range(12):
            created = raw - shift
            if clock == ClockKind.WORKING or not repair:
                created = _working_time(created, rng)
            story.created = created
            _history(story, clock, response, onsite, resolution, factors, repair)
            last = story.closed_again or story.closed
            if last <= now - dt.timedelta(minutes=10):
                break
            shift += dt.timedelta(days=20)
        scores = SCORES_LATE if late or kind == "reopened" else SCORES_ON_TIME
        if rng.random() < SCORED_SHARE:
            score = _weighted(rng, scores)
            story.score = max(1, score - 1) if request_type == RequestType.COMPLAINT else score
        return story

    if kind == "assigned":
        story.created = _start_for(now, response * u(0.1, 0.5), clock)
        return story
    if kind == "waiting":
        pause_start = (now - dt.timedelta(days=u(0.3, 5.0))).replace(second=0, microsecond=0)
        story.created = _start_for(pause_start, resolution * u(0.2, 0.6), clock)
        ran = clocks.elapsed(story.created, pause_start, clock)
        story.reply = _at(story.created, min(response * u(0.15, 0.85), ran * 0.5), clock)
        story.pause = (pause_start, None)
        return story
    share = {"in_progress": u(0.15, 0.7), "near": u(0.84, 0.95), "late_open": u(1.15, 2.0), "resolved": u(0.6, 1.0)}
    story.created = _start_for(now, resolution * share[kind], clock)
    ran = clocks.elapsed(story.created, now, clock)
    reply_minutes = min(response * u(0.15, 0.85), ran * 0.3)
    if kind == "late_open" and rng.random() < 0.25:
        return story  # never answered: first response and resolution both past due
    story.reply = _at(story.created, reply_minutes, clock)
    if repair:
        onsite_minutes = min(onsite * u(0.35, 0.9), ran * 0.6)
        story.onsite = _at(story.created, max(onsite_minutes, reply_minutes + 1), clock)
    if kind == "resolved":
        story.resolved = _at(story.created, max(ran * u(0.7, 0.95), reply_minutes + 5), clock)
        if story.resolved > now - dt.timedelta(minutes=2):
            story.resolved = now - dt.timedelta(minutes=2)
    return story


def _history(story: Story, clock, response, onsite, resolution, factors, repair) -> None:
    """The times of a request that was resolved and closed (and maybe reopened once)."""
    created = story.created
    reply_minutes = response * factors["reply"]
    story.reply = _at(created, reply_minutes, clock)
    done = reply_minutes
    if repair and onsite:
        onsite_minutes = max(onsite * factors["onsite"], reply_minutes + 1)
        story.onsite = _at(created, onsite_minutes, clock)
        done = onsite_minutes
    pauses = []
    story.pause = None
    if factors["pause"] is not None:
        pause_minutes = max(resolution * factors["pause"], done + 5)
        start = _at(created, pause_minutes, clock)
        end = _at(start + dt.timedelta(days=factors["pause_days"]), factors["pause_end"], ClockKind.WORKING)
        story.pause = (start, end)
        pauses = [story.pause]
        done = pause_minutes
    story.resolved = _at(created, max(resolution * factors["resolution"], done + 10), clock, pauses)
    story.closed = _at(story.resolved, factors["close"], ClockKind.WORKING)
    story.reopened = story.resolved_again = story.closed_again = None
    if story.kind == "reopened":
        story.reopened = story.closed + dt.timedelta(days=factors["reopen_days"])
        story.resolved_again = _at(story.reopened, factors["again"], clock)
        story.closed_again = _at(story.resolved_again, factors["close_again"], ClockKind.WORKING)


def _live(story: Story) -> ServiceRequest:
    """Write the story through the services, step by step at its times."""
    actor = story.actor
    title, description, reply, resolution = story.texts
    request = request_create(
        customer=story.customer,
        request_type=story.request_type,
        channel=story.channel,
        priority=story.priority,
        title=title,
        description=description,
        account=story.account,
        metering_point=story.point,
        user=actor,
        now=story.created,
    )
    if story.reply is None:
        return request
    request_reply(request=request, user=actor, body=reply, now=story.reply)
    request_status(request=request, status=S.IN_PROGRESS, user=actor, now=story.reply)
    if story.onsite is not None:
        request_onsite(request=request, user=actor, at=story.onsite, now=story.onsite)
        request_reply(request=request, user=actor, body=REPAIR_ONSITE_REPLY, now=story.onsite)
    if story.pause is not None:
        start, end = story.pause
        note = WAIT_NOTES.get(story.request_type, "")
        request_status(request=request, status=S.WAITING_CUSTOMER, user=actor, note=note, now=start)
        if end is None:
            return request
        request_status(request=request, status=S.IN_PROGRESS, user=actor, note=RESUME_NOTE, now=end)
    if story.resolved is None:
        return request
    request_status(request=request, status=S.RESOLVED, user=actor, note=resolution, now=story.resolved)
    if story.closed is None:
        return request
    request_status(request=request, status=S.CLOSED, user=actor, note=CLOSE_NOTE, now=story.closed)
    if story.reopened is not None:
        reason = REOPEN_NOTES[story.created.minute % len(REOPEN_NOTES)]
        request_reopen(request=request, user=actor, reason=reason, now=story.reopened)
        request_status(request=request, status=S.RESOLVED, user=actor, note=resolution, now=story.resolved_again)
        request_status(request=request, status=S.CLOSED, user=actor, note=CLOSE_NOTE, now=story.closed_again)
    return request


def _past_breaches(ids: list[int]) -> int:
    """For the finished requests, what the SLA job recorded at the time: each target met after its due time is
    flagged breached, with an "SLA breached" event at the due time (no tasks or notices: long handled)."""
    targets = (("response", "responded_at"), ("onsite", "onsite_at"), ("resolution", "resolved_at"))
    events = []
    late_ids: set[int] = set()
    finished = ServiceRequest.objects.filter(pk__in=ids).exclude(status__in=OPEN_STATUSES)
    for target, met in targets:
        due = f"{target}_due_at"
        rows = list(
            finished.filter(**{f"{due}__isnull": False, f"{met}__gt": F(due)}).values_list(
                "pk", due, "escalation_level"
            )
        )
        for pk, due_at, level in rows:
            body = _("%(target)s was due at %(due)s.") % {
                "target": str(SlaTarget(target).label),
                "due": timezone.localtime(due_at).strftime("%Y-%m-%d %H:%M"),
            }
            events.append(
                RequestEvent(
                    request_id=pk,
                    kind=EventKind.SLA_BREACH,
                    at=due_at,
                    internal=True,
                    body=body,
                    data={"target": target, "level": level, "to_user": None, "demo_history": True},
                )
            )
        ServiceRequest.objects.filter(pk__in=[r[0] for r in rows]).update(
            **{f"{target}_breached": True, f"{target}_warned": True}
        )
        late_ids.update(r[0] for r in rows)
    RequestEvent.objects.bulk_create(events, batch_size=2000)
    return len(late_ids)


def _now(today: dt.date | None) -> dt.datetime:
    """Now; for a given day, 10:30 local time on it (a fixed moment, for tests)."""
    if today is None:
        return timezone.now()
    return dt.datetime.combine(today, dt.time(10, 30), tzinfo=ZoneInfo(settings.TIME_ZONE))


def demo_service_load(*, seed: int = 1, today: dt.date | None = None, count: int | None = None) -> dict:
    """Log and work through six months of service requests for the customers with an account team and no
    requests yet (but visit follow-ups) (about ``PER_CUSTOMER`` a customer unless ``count`` says how many), then run the
    SLA sweep. Returns counts for the seed summary."""
    now = _now(today)
    rng = random.Random(seed * 15485863 + 17)
    sla_policies_load()
    policies = {(p.tier, p.request_type, p.priority): p for p in SlaPolicy.objects.all()}
    teams = _teams()
    # Customers without requests yet: a second seed_demo run gives a history to its new customers only, and a
    # database with real requests keeps them as they are (follow-ups of the visits just recorded do not count).
    follow_ups = VisitFollowUp.objects.filter(service_request__isnull=False).values("service_request_id")
    with_history = ServiceRequest.objects.exclude(pk__in=follow_ups).values("customer_id")
    customers = [
        c
        for c in Customer.objects.filter(pk__in=list(teams)).exclude(pk__in=with_history).order_by("pk")
        if AssignmentRole.MANAGER in teams[c.pk]
    ]
    if count is None:
        count = round(len(customers) * PER_CUSTOMER)
    if not customers or count <= 0:
        return {"requests": 0, "open": 0, "breached": 0}
    accounts: dict[int, list[ElectricityAccount]] = {}
    in_use = (
        ElectricityAccount.objects.filter(customer__in=customers)
        .exclude(status=AccountStatus.CLOSED)
        .prefetch_related("metering_points")
        .order_by("account_no")
    )
    for account in in_use:
        accounts.setdefault(account.customer_id, []).append(account)
    weights = [TIER_WEIGHTS.get(c.tier, 1.0) for c in customers]
    stories = []
    for kind in _kinds(count, rng):
        customer = rng.choices(customers, weights=weights)[0]
        stories.append(_story(kind, customer, teams[customer.pk], accounts.get(customer.pk, []), policies, rng, now))
    stories.sort(key=lambda s: (s.created, s.customer.pk))
    with transaction.atomic():
        requests = [_live(story) for story in stories]
        scored = []
        for request, story in zip(requests, stories, strict=True):
            if story.score is not None:
                request.satisfaction = story.score
                scored.append(request)
        ServiceRequest.objects.bulk_update(scored, ["satisfaction"], batch_size=2000)
        ids = [r.pk for r in requests]
        _past_breaches(ids)
        sweep = sla_sweep(now=now)
    mine = ServiceRequest.objects.filter(pk__in=ids)
    breached = Q(response_breached=True) | Q(onsite_breached=True) | Q(resolution_breached=True)
    return {
        "requests": len(ids),
        "open": mine.filter(status__in=OPEN_STATUSES).count(),
        "waiting_customer": mine.filter(status=S.WAITING_CUSTOMER).count(),
        "resolved": mine.filter(status=S.RESOLVED).count(),
        "closed": mine.filter(status=S.CLOSED).count(),
        "breached": mine.filter(breached).count(),
        "reopened": RequestEvent.objects.filter(request__in=ids, kind=EventKind.REOPENED).count(),
        "sla_warned": sweep["warned"],
        "sla_escalated": sweep["escalated_lead"] + sweep["escalated_supervisor"],
    }
