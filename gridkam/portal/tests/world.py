"""A small world for portal tests: two customers (the personas' A1, whose portal user is ``p.customer_user``, and
B1 in another city, with a portal user of its own), each with an account, an issued bill with a line and a draft
bill, a payment, a service request with a public attachment and an internal note, an appointment at the VIP desk
and a notification for its portal user. ``world.mine`` and ``world.theirs`` name each side's objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridkam.billing.choices import BillStatus, PaymentMethod
from gridkam.billing.models import Bill, BillLine, Payment
from gridkam.core.testing import make_user
from gridkam.customers.models import AccountAssignment, Contact, ElectricityAccount, MeteringPoint
from gridkam.engagement.choices import NotificationEvent
from gridkam.engagement.models import Notification
from gridkam.expansion.services import project_create
from gridkam.inspections.tests.support import danger as inspection_danger
from gridkam.messaging.models import Message, MessageAttachment
from gridkam.messaging.services import message_send
from gridkam.outages.tests.support import announced_notice
from gridkam.powerquality.choices import PqKind
from gridkam.powerquality.imports import pq_import as pq_import_run
from gridkam.powerquality.models import PowerQualityEvent
from gridkam.powerquality.services import event_save as pq_event_save
from gridkam.servicedesk.choices import Channel, Priority, RequestStatus, RequestType
from gridkam.servicedesk.models import Appointment, Desk, OpeningHours, RequestAttachment, ServiceHall, ServiceRequest
from gridkam.servicedesk.services import request_create, request_note
from gridkam.surveys.links import link_token
from gridkam.surveys.models import Survey
from gridkam.surveys.services import survey_send_for_request, templates_load
from gridkam.users.choices import Role

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@dataclass
class Side:
    user: object
    customer: object
    account: ElectricityAccount
    bill: Bill
    draft: Bill
    payment: Payment
    request: object
    attachment: RequestAttachment
    internal_attachment: RequestAttachment
    appointment: Appointment
    notification: Notification
    assignment: AccountAssignment
    message: Message
    message_attachment: MessageAttachment
    closed_request: object
    survey: Survey
    contact: Contact
    metering_point: MeteringPoint
    expansion_project: object = None  # a capacity increase of the account, just accepted
    pq_event: object = None  # a power-quality event of the account, no request yet
    pq_import: object = None  # a power-quality import by the side's staff member
    outage_notice: object = None  # the customer's notice of an announced planned outage of its feeder
    danger: object = None  # a hidden danger of the customer, found at an inspection with a photo
    inspection: object = None
    inspection_photo: object = None

    @property
    def survey_token(self):
        return link_token(self.survey.pk)


@dataclass
class World:
    mine: Side
    theirs: Side
    hall: ServiceHall
    desk: Desk


def hall_with_desk(p) -> tuple[ServiceHall, Desk]:
    hall = ServiceHall.objects.create(name="惠城营业厅", org_unit=p.city_a, address="惠城区1号", phone="0752-1")
    desk = Desk.objects.create(hall=hall, name="专席1")
    OpeningHours.objects.bulk_create(
        [OpeningHours(hall=hall, weekday=day, opens=dt.time(9), closes=dt.time(17)) for day in range(5)]
    )
    return hall, desk


def side(p, *, user, customer, staff, desk, n: int) -> Side:
    account = ElectricityAccount.objects.filter(customer=customer).order_by("pk").first()
    bill = Bill.objects.create(
        account=account,
        period=dt.date(2026, n, 1),
        status=BillStatus.ISSUED,
        number=f"PT{n:08d}",
        total=Decimal("1200.00"),
        energy_kwh=Decimal("1500"),
        issue_date=dt.date(2026, n + 1, 1),
        due_date=dt.date(2026, n + 1, 15),
    )
    BillLine.objects.create(
        bill=bill,
        position=1,
        item="energy_flat",
        quantity=Decimal("1500"),
        unit_price=Decimal("0.8"),
        amount=Decimal("1200"),
    )
    draft = Bill.objects.create(
        account=account, period=dt.date(2026, n + 1, 1), status=BillStatus.DRAFT, total=Decimal("9")
    )
    payment = Payment.objects.create(
        account=account,
        received_on=dt.date(2026, n + 1, 10),
        amount=Decimal("500.00"),
        method=PaymentMethod.BANK_TRANSFER,
    )

    def logged(request_type: str, title: str, attachments=()):
        return request_create(
            customer=customer,
            request_type=request_type,
            channel=Channel.MANAGER_LINE,
            priority=Priority.NORMAL,
            title=title,
            user=staff,
            attachments=attachments,
        )

    request = logged(RequestType.REPAIR, "进线跳闸", [png()])
    request_note(request=request, user=staff, body="内部备注", attachments=[png("internal.png")])
    attachments = list(RequestAttachment.objects.filter(request=request).order_by("pk"))
    start = timezone.now() + dt.timedelta(days=30 + n)
    appointment = Appointment.objects.create(
        desk=desk,
        customer=customer,
        account=account,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
        topic="业务咨询",
        booked_by=staff,
    )
    notification = Notification.objects.create(
        recipient=user, event=NotificationEvent.REQUEST_ASSIGNED, title="通知", body="正文", link="/portal/"
    )
    message = message_send(customer=customer, user=staff, body="您好", attachments=[png("msg.png")])
    closed = logged(RequestType.CONSULTATION, "已办结")
    ServiceRequest.objects.filter(pk=closed.pk).update(status=RequestStatus.CLOSED, closed_at=timezone.now())
    closed.refresh_from_db()
    templates_load()
    survey = survey_send_for_request(request=closed)[0]
    pq_event = pq_event_save(
        event=PowerQualityEvent(
            account=account,
            kind=PqKind.SAG,
            started_at=timezone.now() - dt.timedelta(days=n),
            duration_ms=120,
            residual_pct=Decimal("45"),
        ),
        user=staff,
    )
    pq_import = pq_import_run(data=b"account_no,start,kind\n", file_name="pq.csv", user=staff)
    outage_notice = announced_notice(customer, unit=customer.org_unit, planner=p.admin)
    found = inspection_danger(customer, staff, photos=[png("site.png")])
    expansion_project = project_create(
        customer=customer,
        kind="capacity_increase",
        account=account,
        requested_capacity_kva=Decimal("4000"),
        supply_mode="single",
        voltage_kv="10",
        accepted_on=timezone.localdate(),
        user=staff,
    )
    return Side(
        expansion_project=expansion_project,
        danger=found,
        inspection=found.inspection,
        inspection_photo=found.inspection.photos.get(),
        outage_notice=outage_notice,
        pq_event=pq_event,
        pq_import=pq_import,
        contact=Contact.objects.filter(customer=customer).order_by("pk").first(),
        metering_point=MeteringPoint.objects.filter(account=account).order_by("pk").first(),
        message=message,
        message_attachment=message.attachments.get(),
        closed_request=closed,
        survey=survey,
        user=user,
        customer=customer,
        account=account,
        bill=bill,
        draft=draft,
        payment=payment,
        request=request,
        attachment=attachments[0],
        internal_attachment=attachments[1],
        appointment=appointment,
        notification=notification,
        assignment=AccountAssignment.objects.filter(customer=customer, end_date__isnull=True).first(),
    )


def build_world(p) -> World:
    hall, desk = hall_with_desk(p)
    other_user = make_user("b1-user", role=Role.CUSTOMER_USER, customer=p.b1, display_name="纺织能源主管")
    return World(
        mine=side(p, user=p.customer_user, customer=p.a1, staff=p.manager, desk=desk, n=1),
        theirs=side(p, user=other_user, customer=p.b1, staff=p.outsider, desk=desk, n=3),
        hall=hall,
        desk=desk,
    )
