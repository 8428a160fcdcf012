"""GridKAM settings: one module, every deployment difference comes from the environment.

The zero-set-up default is an SQLite file under ``data/`` (git-ignored); production sets
``DATABASE_URL`` to PostgreSQL. See docs/operations.md for every variable.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GRIDKAM_DATA_DIR", BASE_DIR / "data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# A fixed development key is only acceptable when DEBUG is on; `check --deploy` flags it otherwise.
SECRET_KEY = os.environ.get("SECRET_KEY", "gridkam-insecure-development-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "gridkam.core",
    "gridkam.users",
    "gridkam.customers",
    "gridkam.tariffs",
    "gridkam.metering",
    "gridkam.billing",
    "gridkam.engagement",
    "gridkam.servicedesk",
    "gridkam.dashboard",
    "gridkam.portal",
    "gridkam.messaging",
    "gridkam.surveys",
    "gridkam.expansion",
    "gridkam.outages",
    "gridkam.inspections",
    "gridkam.powerquality",
    "gridkam.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridkam.core.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Two-factor: marks request.user verified by a code, then keeps users who owe a code on the code page.
    "django_otp.middleware.OTPMiddleware",
    "gridkam.users.otp.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'gridkam.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an import writes; IMMEDIATE avoids "database is locked" upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation pays off for long analytical queries only. Our list queries carry high cost
    # estimates (subqueries per row) yet run in milliseconds, and JIT added 20-350 ms to each of
    # them at 20,000 customers (docs/BENCHMARKS.md). GRIDKAM_PG_OPTIONS replaces these options.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", os.environ.get("GRIDKAM_PG_OPTIONS", "-c jit=off"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

# The issuer authenticator apps show next to the account name (docs/portal-users.md).
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "GridKAM")
# Password-reset links work for this many seconds (Django's default is three days).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT_HOURS", "24")) * 3600

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
# WhiteNoise scans STATIC_ROOT at start-up; an empty one (before collectstatic) is fine, a missing one warns.
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
# Imports of 20,000 rows arrive as files of several MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None

if "EMAIL_URL" in os.environ and os.environ["EMAIL_URL"].startswith("smtp"):
    from urllib.parse import unquote, urlparse

    _mail = urlparse(os.environ["EMAIL_URL"])
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 25
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.scheme == "smtp+tls"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gridkam@localhost")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Periodic jobs, for a `celery -A config beat` process next to the workers (docs/operations.md).
CELERY_BEAT_SCHEDULE = {
    "billing-risk-score-nightly": {"task": "billing.risk_score_all", "schedule": crontab(hour=2, minute=30)},
    "servicedesk-sla-sweep": {"task": "servicedesk.sla_sweep", "schedule": crontab(minute="*/5")},
    "servicedesk-appointment-reminders": {
        "task": "servicedesk.appointment_reminders",
        "schedule": crontab(minute=5),
    },
    "engagement-notifications-retry": {"task": "engagement.notifications_retry", "schedule": crontab(minute="*/10")},
    "engagement-plan-due-notices": {"task": "engagement.plan_due_notices", "schedule": crontab(hour=7, minute=0)},
    # After the risk scoring (02:30): the health score reads each account's latest risk level.
    "engagement-health-score-nightly": {"task": "engagement.health_score_all", "schedule": crontab(hour=3, minute=0)},
    # Survey links to contacts that the after-commit task did not send (lost task, mail server down).
    "surveys-send-pending-links": {"task": "surveys.send_pending_links", "schedule": crontab(minute=20)},
    # Business expansion: working days recomputed, owners warned before a time limit and told of breaches.
    "expansion-alerts-daily": {"task": "expansion.alerts_check", "schedule": crontab(hour=7, minute=10)},
    # Overdue hidden dangers: the account manager, then the supervisors (docs/inspections.md).
    "inspections-escalate-overdue-dangers": {
        "task": "inspections.escalate_overdue_dangers",
        "schedule": crontab(hour=7, minute=30),
    },
}

# Empty: a cache in each process's memory, enough for one process. Workers and the web processes share the
# progress of background imports through the cache, so a deployment with workers sets a shared one (Redis).
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be empty or a redis:// URL, not {CACHE_URL!r}.")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "gridkam.core.parsers.NulSafeJSONParser",
        "gridkam.core.parsers.NulSafeFormParser",
        "gridkam.core.parsers.NulSafeMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "gridkam.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gridkam.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GridKAM API",
    "DESCRIPTION": "Key-account service management for electric power utilities.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a "role" or a tier field with different choices; name each set once.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "gridkam.users.choices.Role",
        "ContactRoleEnum": "gridkam.customers.choices.ContactRole",
        "AssignmentRoleEnum": "gridkam.customers.choices.AssignmentRole",
        "TierEnum": "gridkam.customers.choices.Tier",
        "AccountStatusEnum": "gridkam.customers.choices.AccountStatus",
        "VersionStatusEnum": "gridkam.tariffs.choices.VersionStatus",
        "PaymentKindEnum": "gridkam.billing.choices.PaymentKind",
        "PaymentMethodEnum": "gridkam.billing.choices.PaymentMethod",
        "PaymentSourceEnum": "gridkam.billing.choices.PaymentSource",
        "BillKindEnum": "gridkam.billing.choices.BillKind",
        "BillStatusEnum": "gridkam.billing.choices.BillStatus",
        "BillSourceEnum": "gridkam.billing.choices.BillSource",
        "RunStatusEnum": "gridkam.billing.choices.RunStatus",
        "DunningStepKindEnum": "gridkam.billing.choices.DunningStepKind",
        "ImportKindEnum": "gridkam.billing.choices.ImportKind",
        "RiskLevelEnum": "gridkam.billing.choices.RiskLevel",
        "ServiceRequestStatusEnum": "gridkam.servicedesk.choices.RequestStatus",
        "PlanOccurrenceStatusEnum": "gridkam.engagement.choices.OccurrenceStatus",
        "FollowUpKindEnum": "gridkam.engagement.choices.FollowUpKind",
        "PlanChangeKindEnum": "gridkam.engagement.choices.PlanChangeKind",
        "HealthLevelEnum": "gridkam.engagement.choices.HealthLevel",
        "ExpansionProjectKindEnum": "gridkam.expansion.choices.ProjectKind",
        "ExpansionProjectStatusEnum": "gridkam.expansion.choices.ProjectStatus",
        "ExpansionStageEnum": "gridkam.expansion.choices.Stage",
        "PowerQualityKindEnum": "gridkam.powerquality.choices.PqKind",
        "PowerQualitySeverityEnum": "gridkam.powerquality.choices.Severity",
        "PowerQualitySourceEnum": "gridkam.powerquality.choices.PqSource",
        "PowerQualityImportStatusEnum": "gridkam.powerquality.models.ImportStatus",
        "OutageKindEnum": "gridkam.outages.choices.OutageKind",
        "OutageStatusEnum": "gridkam.outages.choices.OutageStatus",
        "OutageSupplyRoleEnum": "gridkam.outages.choices.SupplyRole",
        "OutageFollowUpKindEnum": "gridkam.outages.choices.FollowUpKind",
        "OutageAckChannelEnum": "gridkam.outages.choices.AckChannel",
        "DangerSeverityEnum": "gridkam.inspections.choices.Severity",
        "DangerStatusEnum": "gridkam.inspections.choices.DangerStatus",
        "InspectionKindEnum": "gridkam.inspections.choices.InspectionKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Business rules that provinces set differently (DOMAIN.md marks them configurable).
GRIDKAM = {
    # Self-provided emergency power must cover this share of the security load (GB/T 29328 practice).
    "EMERGENCY_POWER_MIN_RATIO": float(os.environ.get("GRIDKAM_EMERGENCY_POWER_MIN_RATIO", "1.2")),
    # A 15-minute reading above capacity (kVA) × 0.25 h × this ratio is physically impossible: rejected on import.
    "READING_MAX_LOAD_RATIO": float(os.environ.get("GRIDKAM_READING_MAX_LOAD_RATIO", "2.0")),
    # A queued or running readings import without a sign of life (a progress report) for this long is taken
    # for one whose process died, and marked failed.
    "READINGS_IMPORT_STALE_MINUTES": int(os.environ.get("GRIDKAM_READINGS_IMPORT_STALE_MINUTES", "60")),
    "SITE_NAME": _("GridKAM key-account service"),
    # --- Billing and fee recovery (docs/billing.md) ---
    # Days to pay after a bill is issued, for accounts without their own billing terms.
    "BILL_PAYMENT_DAYS": int(os.environ.get("GRIDKAM_BILL_PAYMENT_DAYS", "15")),
    # A month rolled up from interval data with more than this share of its quarter-hours missing is not billed.
    "BILL_MAX_MISSING_RATIO": float(os.environ.get("GRIDKAM_BILL_MAX_MISSING_RATIO", "0.02")),
    # A queued or running bill run without a finished chunk for this long is taken for one whose worker died.
    "BILL_RUN_STALE_MINUTES": int(os.environ.get("GRIDKAM_BILL_RUN_STALE_MINUTES", "60")),
    # Accounts per chunk of a background bill run.
    "BILL_RUN_CHUNK": int(os.environ.get("GRIDKAM_BILL_RUN_CHUNK", "2000")),
    # Late-payment penalty (违约金), per day from the day after the due date, in per mille of the arrears:
    # the 1996 供电营业规则 art. 98 rates for non-residential users (current year 2 ‰, earlier years 3 ‰),
    # at least PENALTY_MINIMUM yuan per bill.
    "PENALTY_RATE_CURRENT_YEAR": os.environ.get("GRIDKAM_PENALTY_RATE_CURRENT_YEAR", "0.002"),
    "PENALTY_RATE_EARLIER_YEARS": os.environ.get("GRIDKAM_PENALTY_RATE_EARLIER_YEARS", "0.003"),
    "PENALTY_MINIMUM": os.environ.get("GRIDKAM_PENALTY_MINIMUM", "1.00"),
    # Dunning: days to wait after each step before the next may be taken, and the advance notice of a
    # suspension (供电营业规则 art. 67: served 3 to 7 days before).
    "DUNNING_WAIT_DAYS": {
        "reminder": int(os.environ.get("GRIDKAM_DUNNING_WAIT_REMINDER", "7")),
        "written_notice": int(os.environ.get("GRIDKAM_DUNNING_WAIT_WRITTEN_NOTICE", "7")),
        # 0: the suspension notice's own planned date (3 to 7 days on) decides when supply may be suspended.
        "suspension_notice": int(os.environ.get("GRIDKAM_DUNNING_WAIT_SUSPENSION_NOTICE", "0")),
    },
    "SUSPENSION_NOTICE_MIN_DAYS": int(os.environ.get("GRIDKAM_SUSPENSION_NOTICE_MIN_DAYS", "3")),
    "SUSPENSION_NOTICE_MAX_DAYS": int(os.environ.get("GRIDKAM_SUSPENSION_NOTICE_MAX_DAYS", "7")),
    # --- Service desk (docs/servicedesk.md) ---
    # A resolved or closed request may be reopened for this many days.
    "REQUEST_REOPEN_DAYS": int(os.environ.get("GRIDKAM_REQUEST_REOPEN_DAYS", "7")),
    # Attachments of requests: images and PDF, at most this many MB each.
    "REQUEST_ATTACHMENT_MAX_MB": int(os.environ.get("GRIDKAM_REQUEST_ATTACHMENT_MAX_MB", "10")),
    # The assignee is warned when this share of an SLA target has run.
    "SLA_WARN_SHARE": float(os.environ.get("GRIDKAM_SLA_WARN_SHARE", "0.8")),
    # Days an account manager has to act on a high or severe risk warning.
    "RISK_WARNING_DAYS": int(os.environ.get("GRIDKAM_RISK_WARNING_DAYS", "5")),
    # --- Notifications (gridkam/engagement/notifications.py, docs/notifications.md) ---
    # The SMS gateway: a dotted path to a class with send_messages(messages); the default only logs each message.
    "SMS_BACKEND": os.environ.get("GRIDKAM_SMS_BACKEND", "gridkam.engagement.sms.LoggingSmsBackend"),
    # Where the application is reached from outside, to make links in e-mails absolute (empty: relative links).
    "SITE_URL": os.environ.get("GRIDKAM_SITE_URL", ""),
    # E-mails and SMS still pending or failed after this many minutes are sent again, for this many hours.
    "NOTIFICATION_RETRY_MINUTES": int(os.environ.get("GRIDKAM_NOTIFICATION_RETRY_MINUTES", "10")),
    "NOTIFICATION_RETRY_MAX_AGE_HOURS": int(os.environ.get("GRIDKAM_NOTIFICATION_RETRY_MAX_AGE_HOURS", "24")),
    # Owners of service-plan items are told this many days before an item falls due.
    "PLAN_DUE_NOTICE_DAYS": int(os.environ.get("GRIDKAM_PLAN_DUE_NOTICE_DAYS", "7")),
    # --- Account health (gridkam/engagement/health.py, docs/health.md) ---
    # Weight of each driver in the health score (a weighted mean of the drivers with data; only the ratios
    # matter). Not read from the environment: change them here, in a reviewed commit, like the thresholds.
    "HEALTH_WEIGHTS": {
        "satisfaction": 0.15,
        "complaints": 0.15,
        "sla_breaches": 0.15,
        "fee_risk": 0.25,
        "consumption_trend": 0.15,
        "plan_delivery": 0.15,
        "nps": 0.15,
    },
    # Days an account manager has to act on an account that turned unhealthy.
    "HEALTH_ALERT_DAYS": int(os.environ.get("GRIDKAM_HEALTH_ALERT_DAYS", "5")),
    # --- Portal users (docs/portal-users.md) ---
    # Days an invitation link to the portal stays valid.
    "PORTAL_INVITATION_DAYS": int(os.environ.get("GRIDKAM_PORTAL_INVITATION_DAYS", "7")),
    # How many days ahead a VIP desk can be booked (staff and portal users alike).
    "APPOINTMENT_BOOKING_DAYS": int(os.environ.get("GRIDKAM_APPOINTMENT_BOOKING_DAYS", "180")),
    # --- Outage notices (docs/outages.md): lead times of the public service commitments ---
    # Planned outages are announced at least this many days before they start.
    "OUTAGE_PLANNED_LEAD_DAYS": int(os.environ.get("GRIDKAM_OUTAGE_PLANNED_LEAD_DAYS", "7")),
    # Important users are told at least this many hours before a temporary maintenance outage.
    "OUTAGE_IMPORTANT_LEAD_HOURS": int(os.environ.get("GRIDKAM_OUTAGE_IMPORTANT_LEAD_HOURS", "24")),
    # --- Inspections and hidden dangers (docs/inspections.md) ---
    # Days the customer has to rectify a hidden danger, by severity (calendar days from the inspection).
    "INSPECTION_DEADLINE_DAYS": {
        "general": int(os.environ.get("GRIDKAM_INSPECTION_DEADLINE_GENERAL", "30")),
        "serious": int(os.environ.get("GRIDKAM_INSPECTION_DEADLINE_SERIOUS", "15")),
        "major": int(os.environ.get("GRIDKAM_INSPECTION_DEADLINE_MAJOR", "7")),
    },
    # An overdue danger goes to the org unit's supervisors this many days after its account manager was told
    # (major dangers: at once).
    "INSPECTION_ESCALATE_DAYS": int(os.environ.get("GRIDKAM_INSPECTION_ESCALATE_DAYS", "7")),
    # Months between periodic inspections for a tier and importance class without a rule.
    "INSPECTION_DEFAULT_MONTHS": int(os.environ.get("GRIDKAM_INSPECTION_DEFAULT_MONTHS", "12")),
    # Inspection photos: images, at most this many MB each.
    "INSPECTION_PHOTO_MAX_MB": int(os.environ.get("GRIDKAM_INSPECTION_PHOTO_MAX_MB", "10")),
    # --- Power quality (docs/power-quality.md) ---
    # The equipment tolerance curve voltage sags are classified against: "itic" or "semi_f47".
    "PQ_SAG_CURVE": os.environ.get("GRIDKAM_PQ_SAG_CURVE", "itic"),
    # Largest monitoring export (CSV) accepted by the import, in MB.
    "PQ_IMPORT_MAX_MB": float(os.environ.get("GRIDKAM_PQ_IMPORT_MAX_MB", "5")),
    # --- Business expansion (docs/expansion.md) ---
    # The owner is warned when a project or its current stage has this many working days left or fewer.
    "EXPANSION_WARN_WORKING_DAYS": int(os.environ.get("GRIDKAM_EXPANSION_WARN_WORKING_DAYS", "3")),
    # --- Working-day calendar and SLA clocks (gridkam/core/workdays.py, clocks.py) ---
    # Working hours of a working day, local time (TIME_ZONE): the periods a "working" SLA clock counts.
    # GRIDKAM_WORKING_HOURS="08:30-12:00,13:30-17:30" replaces them.
    "WORKING_HOURS": [
        tuple(period.split("-", 1)) for period in env_list("GRIDKAM_WORKING_HOURS", "08:30-12:00,13:30-17:30")
    ],
}
