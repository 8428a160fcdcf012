"""People in the API: the current user (/me/), the staff directory, teams, and the token endpoint
scripts use to sign in."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gridkam.core.api_views import (
    DEFAULT_FILTER_BACKENDS,
    WRITER_ROLES,
    IsStaff,
    OptionalEmailField,
    SafeLookupMixin,
)
from gridkam.users.permissions import manages_portfolios

from .choices import Role
from .models import Team, User


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


class TokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token (the same token on every call).

    Failed attempts count towards the login lockout like the login page.
    """

    serializer_class = TokenRequestSerializer

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


def register(router) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("teams", TeamViewSet, basename="team")
