"""People in the API: the current user (/me/), the staff directory, teams, and the token endpoint
scripts use to sign in."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api_views import (
    DEFAULT_FILTER_BACKENDS,
    WRITER_ROLES,
    IsStaff,
    OptionalEmailField,
    SafeLookupMixin,
    ScopedPrimaryKeyRelatedField,
)
from gridkam.customers.models import Contact, Customer
from gridkam.users.permissions import manages_portfolios

from . import services
from .choices import Role
from .models import Invitation, InvitationStatus, Team, User


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True, default=None, allow_null=True)
    team_name = serializers.CharField(source="team.name", read_only=True, default=None, allow_null=True)
    email = OptionalEmailField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "display_name",
            "role",
            "org_unit",
            "org_unit_name",
            "team",
            "team_name",
            "email",
            "phone",
            "is_active",
        ]
        read_only_fields = fields


class UserFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", label=_("Search"))
    org_unit = filters.NumberFilter(field_name="org_unit_id", label=_("Org unit"))
    team = filters.NumberFilter(field_name="team_id", label=_("Team"))
    role = filters.ChoiceFilter(choices=[c for c in Role.choices if c[0] != Role.CUSTOMER_USER], label=_("Role"))

    class Meta:
        model = User
        fields = ["q", "role", "org_unit", "team", "is_active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(display_name__icontains=value))


class UserViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """The staff the user may see: their own unit and below. Customers' portal users are not listed."""

    serializer_class = UserSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = UserFilterSet
    ordering_fields = ["username", "display_name", "role"]
    ordering = ["username"]

    def get_queryset(self):
        return (
            User.objects.visible_to(self.request.user)
            .filter(customer__isnull=True)
            .exclude(role=Role.CUSTOMER_USER)
            .select_related("org_unit", "team")
        )


class TeamSerializer(serializers.ModelSerializer):
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    lead_name = serializers.StringRelatedField(source="lead", read_only=True, allow_null=True)

    class Meta:
        model = Team
        fields = ["id", "name", "org_unit", "org_unit_name", "lead", "lead_name"]
        read_only_fields = fields


class TeamViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Account teams of the user's unit and below; members are ``/users/?team=<id>``."""

    serializer_class = TeamSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_fields = ["org_unit"]
    ordering_fields = ["name"]
    ordering = ["org_unit__path", "name"]

    def get_queryset(self):
        return Team.objects.visible_to(self.request.user).select_related("org_unit", "lead")


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__")
    role_display = serializers.CharField(source="get_role_display")
    email = OptionalEmailField(read_only=True)
    org_unit = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    customer = serializers.SerializerMethodField()
    is_administrator = serializers.BooleanField()
    can_edit_master_data = serializers.SerializerMethodField()
    can_create_customers = serializers.SerializerMethodField()
    can_reassign = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "display_name",
            "email",
            "role",
            "role_display",
            "org_unit",
            "team",
            "customer",
            "is_administrator",
            "can_edit_master_data",
            "can_create_customers",
            "can_reassign",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "id": {"type": "integer"},
                "code": {"type": "string"},
                "name": {"type": "string"},
                "path": {"type": "string"},
            },
        }
    )
    def get_org_unit(self, user: User) -> dict | None:
        unit = user.org_unit
        return {"id": unit.pk, "code": unit.code, "name": unit.name, "path": unit.path} if unit else None

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_team(self, user: User) -> dict | None:
        return {"id": user.team.pk, "name": user.team.name} if user.team else None

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_customer(self, user: User) -> dict | None:
        return {"id": user.customer.pk, "name": user.customer.name} if user.customer else None

    def get_can_edit_master_data(self, user: User) -> bool:
        return user.is_administrator or user.role in WRITER_ROLES

    def get_can_create_customers(self, user: User) -> bool:
        return manages_portfolios(user)

    def get_can_reassign(self, user: User) -> bool:
        return manages_portfolios(user)


class MeView(APIView):
    """Who is signed in, in which role and unit, and what that role may do."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = User.objects.select_related("org_unit", "team", "customer").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_('Send it as the header "Authorization: Token <token>".'))


class TokenRequestSerializer(AuthTokenSerializer):
    # No user name is longer than the model allows; refusing longer ones here also keeps them out of the
    # lockout's attempt log, whose column is 255 characters (a longer one was a database error).
    username = serializers.CharField(label=_("Username"), write_only=True, max_length=150)
    password = serializers.CharField(
        label=_("Password"), style={"input_type": "password"}, trim_whitespace=False, write_only=True, max_length=4096
    )
    otp_token = serializers.CharField(
        label=_("One-time code"),
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=16,
        help_text=_("The current code of the authenticator app; required for users with two-factor sign-in."),
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs["user"]
        if user.two_factor_enabled:
            # The password alone is not enough for these users, here no more than on the log-in page; wrong codes
            # are throttled by django-otp the same way as on the code page.
            token = (attrs.get("otp_token") or "").strip()
            if not token:
                raise serializers.ValidationError(
                    {"otp_token": [_("Give the one-time code of your authenticator app.")]}, code="required"
                )
            if services.totp_verify(user=user, token=token) is None:
                raise serializers.ValidationError(
                    {"otp_token": [_("This code is not right, or too many wrong codes were given; wait and retry.")]},
                    code="invalid",
                )
        return attrs


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token (the same token on every call).

    Users with two-factor sign-in also give ``otp_token``, the current code of their authenticator app.
    Failed attempts count towards the login lockout like the login page.
    """

    serializer_class = TokenRequestSerializer

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


# ------------------------------------------------------------------------------------------------ portal users


def _visible_customers(user):
    return Customer.objects.visible_to(user)


class PortalUserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    email = OptionalEmailField(read_only=True)
    scope = serializers.SerializerMethodField(help_text=_("Ids of the group subsidiaries the user sees too."))

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "display_name",
            "email",
            "phone",
            "customer",
            "customer_name",
            "scope",
            "is_active",
            "two_factor_enabled",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields

    def get_scope(self, user: User) -> list[int]:
        return sorted(s.customer_id for s in user.portal_scopes.all())


class PortalUserUpdateSerializer(serializers.Serializer):
    scope = ScopedPrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Customer.objects.all(),
        scope=_visible_customers,
        help_text=_("Ids of the group subsidiaries the user sees too (replaces the current scope)."),
    )
    is_active = serializers.BooleanField(required=False, help_text=_("False: the user can no longer log in."))


class PortalUserFilterSet(filters.FilterSet):
    customer = filters.NumberFilter(field_name="customer_id", label=_("Customer"))
    q = filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = User
        fields = ["customer", "is_active", "q"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value) | Q(display_name__icontains=value) | Q(email__icontains=value)
        )


@extend_schema_view(
    partial_update=extend_schema(request=PortalUserUpdateSerializer, responses=PortalUserSerializer),
    update=extend_schema(request=PortalUserUpdateSerializer, responses=PortalUserSerializer),
)
class PortalUserViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers' portal users, for the staff who see the customer. Staff who may edit the customer change a
    user's group scope and deactivate or reactivate them (PATCH); new users come through invitations."""

    serializer_class = PortalUserSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = PortalUserFilterSet
    ordering_fields = ["username", "display_name", "date_joined", "last_login"]
    ordering = ["username"]

    def get_queryset(self):
        return (
            User.objects.filter(
                role=Role.CUSTOMER_USER, customer__in=_visible_customers(self.request.user).values("pk")
            )
            .select_related("customer")
            .prefetch_related("portal_scopes")
        )

    def update(self, request, *args, **kwargs):
        portal_user = self.get_object()
        serializer = PortalUserUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not services.may_manage_portal_users(user=request.user, customer=portal_user.customer):
            raise PermissionDenied(_("You may not manage the portal users of this customer."))
        if "scope" in data:
            services.portal_scope_set(user=portal_user, customers=data["scope"], by=request.user)
        if "is_active" in data:
            services.portal_user_set_active(user=portal_user, active=data["is_active"], by=request.user)
        return Response(PortalUserSerializer(self.get_queryset().get(pk=portal_user.pk)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)


class InvitationSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    invited_by_name = serializers.StringRelatedField(source="invited_by", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=InvitationStatus.choices, read_only=True)
    scope = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "customer",
            "customer_name",
            "email",
            "name",
            "phone",
            "contact",
            "scope",
            "status",
            "invited_by",
            "invited_by_name",
            "created_at",
            "sent_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
            "user",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(
        queryset=Customer.objects.all(), scope=lambda user: Customer.objects.editable_by(user)
    )
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    contact = ScopedPrimaryKeyRelatedField(
        queryset=Contact.objects.all(),
        scope=lambda user: Contact.objects.visible_to(user),
        required=False,
        allow_null=True,
        default=None,
    )
    scope = ScopedPrimaryKeyRelatedField(
        many=True, required=False, queryset=Customer.objects.all(), scope=_visible_customers, default=list
    )


class InvitationFilterSet(filters.FilterSet):
    customer = filters.NumberFilter(field_name="customer_id", label=_("Customer"))
    status = filters.ChoiceFilter(choices=InvitationStatus.choices, method="filter_status", label=_("Status"))

    class Meta:
        model = Invitation
        fields = ["customer", "status"]

    def filter_status(self, queryset, name, value):
        now = timezone.now()
        return {
            InvitationStatus.PENDING: queryset.pending(now=now),
            InvitationStatus.EXPIRED: queryset.open().filter(expires_at__lte=now),
            InvitationStatus.ACCEPTED: queryset.filter(accepted_at__isnull=False),
            InvitationStatus.REVOKED: queryset.filter(revoked_at__isnull=False),
        }[value]


class InvitationViewSet(SafeLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Invitations to the portal, for the staff who see the customer. Staff who may edit the customer invite
    (the person gets an e-mail with a link; the token is never shown here), send again or revoke."""

    serializer_class = InvitationSerializer
    permission_classes = [IsStaff]
    filter_backends = DEFAULT_FILTER_BACKENDS
    filterset_class = InvitationFilterSet
    ordering_fields = ["created_at", "sent_at", "expires_at", "email"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return (
            Invitation.objects.visible_to(self.request.user)
            .select_related("customer", "invited_by")
            .prefetch_related("scope")
        )

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = InvitationCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        invitation, _raw = services.invitation_create(by=request.user, **serializer.validated_data)
        return Response(InvitationSerializer(self.get_queryset().get(pk=invitation.pk)).data, status=201)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        """Send the invitation again with a new link and a new expiry; the old link stops working."""
        invitation, _raw = services.invitation_resend(invitation=self.get_object(), by=request.user)
        return Response(InvitationSerializer(self.get_queryset().get(pk=invitation.pk)).data)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        """Withdraw an open invitation: its link stops working."""
        invitation = services.invitation_revoke(invitation=self.get_object(), by=request.user)
        return Response(InvitationSerializer(self.get_queryset().get(pk=invitation.pk)).data)


def register(router) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("teams", TeamViewSet, basename="team")
    router.register("portal-users", PortalUserViewSet, basename="portal-user")
    router.register("portal-invitations", InvitationViewSet, basename="portal-invitation")
