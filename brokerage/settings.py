"""Settings for every environment, read from the environment.

Defaults suit a developer machine (local PostgreSQL and Redis on 127.0.0.1).
Production sets DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and the
service URLs; `manage.py check --deploy` passes with those set.
"""

import base64
import hashlib
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
TESTING = env_bool("BROKERAGE_TESTING", False)
# The demo: no secret needed, plain HTTP, demo accounts with published passwords.
BROKERAGE_DEMO = env_bool("BROKERAGE_DEMO", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING or BROKERAGE_DEMO):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set outside DEBUG, demo and test runs.")
    SECRET_KEY = "insecure-development-key-" + "x" * 40

# Fernet keys for secrets at rest (PSP keys, platform passwords), newest first.
# Demo and test runs derive one from SECRET_KEY; production must set its own.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
if not FIELD_ENCRYPTION_KEYS:
    if not (DEBUG or TESTING or BROKERAGE_DEMO):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set outside DEBUG, demo and test runs.")
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ".localhost,localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- Tenancy -----------------------------------------------------------------

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "brokerage",
    "watchlists",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "brokerage",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework.authtoken",
    "crm",
    "kyc",
    "payments",
    "trading",
    "partners",
    "risk",
    "reporting",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS] + ["demo"]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "brokerage.urls_public"
ROOT_URLCONF = "brokerage.urls_tenant"
# The operator console lives on this host; tenant domains are created beside it.
PLATFORM_DOMAIN = os.environ.get("BROKERAGE_PLATFORM_DOMAIN", "localhost")

MIDDLEWARE = [
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "brokerage.middleware.SuspendedTenantMiddleware",
    "brokerage.middleware.RequestContextMiddleware",
    "brokerage.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "brokerage.middleware.StaffMfaMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "brokerage.context_processors.branding",
            ],
        },
    },
]

WSGI_APPLICATION = "brokerage.wsgi.application"

# --- Services ----------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokerage"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
        }
    }

# Celery: without a broker (no REDIS_URL) tasks run inline, so the demo still works.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A send to an unreachable broker fails fast; the outbox relay sends it again later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# The built-in sandbox PSPs let whoever uses them create money: only demo, debug and test runs
# (or an explicit BROKERAGE_PAYMENT_SIMULATORS=1, e.g. a staging site) may use them.
PAYMENT_SIMULATORS = env_bool("BROKERAGE_PAYMENT_SIMULATORS", DEBUG or TESTING or BROKERAGE_DEMO)
# Likewise the built-in trading simulator for LIVE accounts: its profits are booked as clients' money.
# Demo accounts may always use it (they never touch the ledger).
TRADING_LIVE_SIMULATOR = env_bool("BROKERAGE_TRADING_SIMULATOR", DEBUG or TESTING or BROKERAGE_DEMO)

CELERY_BEAT_SCHEDULE = {
    # Every tenant: send outbox events that a broker outage left behind.
    "outbox-relay": {"task": "brokerage.tasks.outbox_relay", "schedule": 30.0},
    "idempotency-purge": {"task": "brokerage.tasks.idempotency_purge", "schedule": 3600.0},
    # Every tenant: abandoned card checkouts end as expired deposits.
    "deposits-expire": {"task": "payments.deposits.tasks.deposits_expire", "schedule": 300.0},
    # Every tenant: one block on the built-in crypto chain simulator (a confirmation per pending transfer).
    "crypto-sim-tick": {"task": "payments.deposits.tasks.crypto_sim_tick", "schedule": 10.0},
    # Every tenant: approved withdrawals whose payout a broker or PSP outage left unsent.
    "withdrawals-payout-sweep": {"task": "payments.withdrawals.tasks.withdrawal_payout_sweep", "schedule": 900.0},
    # Every tenant: the next built-in demo rates (only for tenants whose rate feed is "demo").
    "rates-refresh": {"task": "payments.wallets.tasks.rates_refresh", "schedule": 60.0},
    # Every tenant: the ECB's daily reference rates (only for tenants whose rate feed is "ecb").
    "rates-fetch-ecb": {"task": "payments.wallets.tasks.rates_fetch_ecb", "schedule": 3600.0},
    # Every tenant: settle transfers to/from trading accounts that a crash or a lost answer left pending.
    "trading-transfers-recover": {"task": "payments.wallets.tasks.trading_transfers_recover_task", "schedule": 60.0},
    # Every tenant: the safety net under the push path: deals and positions since each platform's cursor.
    "trading-sync": {"task": "trading.sync.tasks.platforms_sync", "schedule": 5.0},
    # Every tenant: balance, equity and margin of every account, and each platform's health.
    "trading-states-refresh": {"task": "trading.sync.tasks.account_states_refresh", "schedule": 60.0},
    # Every tenant: the simulator's next prices, revaluation of open positions and stop-outs.
    "trading-simulator-tick": {"task": "trading.simulator.tasks.simulator_tick", "schedule": 5.0},
    # Every tenant: open CRM tasks due within 15 minutes or overdue: one notification and one email.
    "crm-task-reminders": {"task": "crm.tasks.task_reminders_send", "schedule": 60.0},
    # Every tenant: client emails a broker outage left queued.
    "crm-emails-queued-sweep": {"task": "crm.tasks.emails_queued_sweep", "schedule": 300.0},
    # Every tenant: funded or active clients with no activity for 90 days become dormant.
    "crm-dormancy-sweep": {"task": "crm.activity_tasks.clients_dormancy_sweep", "schedule": 3600.0},
    # Every tenant, daily: ask for new identity documents before they expire; mark expired ones.
    "kyc-expiry-scan": {"task": "kyc.tasks_expiry.kyc_expiry_scan", "schedule": 86400.0},
    # Every tenant: re-screening jobs after a watchlist load that lost their worker.
    "kyc-rescreen-sweep": {"task": "kyc.tasks_screening.rescreen_jobs_sweep", "schedule": 300.0},
    # Every tenant: uploaded documents whose check task a broker outage lost.
    "kyc-documents-checking-sweep": {"task": "kyc.tasks_documents.documents_checking_sweep", "schedule": 300.0},
}
if BROKERAGE_DEMO:
    # The demo's simulator accounts trade a little every 20 s, so dashboards and histories keep moving.
    CELERY_BEAT_SCHEDULE["trading-demo-traffic"] = {
        "task": "trading.simulator.tasks.simulator_traffic",
        "schedule": 20.0,
    }

# --- Auth --------------------------------------------------------------------

AUTH_USER_MODEL = "brokerage.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "brokerage.accounts.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "crm.forms.ClientSignupForm"
ACCOUNT_FORMS = {"signup": "crm.signup.PortalSignupForm"}
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# A new address replaces the old one only once the person confirms it from the link sent to it.
ACCOUNT_CHANGE_EMAIL = True
# Confirmation keys are random and stored in the tenant's schema. allauth's default
# (an HMAC of the EmailAddress id) would verify the same id in every tenant.
ACCOUNT_EMAIL_CONFIRMATION_HMAC = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
# Brute force: 5 failed logins per account per 5 minutes, 10 per IP per minute.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Brokerage back office"

# --- API ---------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["brokerage.permissions.IsActiveTenantUser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "brokerage.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("API_THROTTLE_USER", "1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Brokerage back office API",
    "DESCRIPTION": "Tenant API: authenticate with `Authorization: Token <key>` on the tenant's domain.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from the installed package, not a CDN: the product works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # One name per shared choice set, so generated clients get stable types.
    "ENUM_NAME_OVERRIDES": {
        "CurrencyEnum": "brokerage.money.CURRENCY_CHOICES",
        "StatementFormatEnum": "payments.models.reconciliation.StatementImport.Format",
        "StatementUploadFormatEnum": "payments.reconciliation.forms.UPLOAD_FORMATS",
        "DocumentKindEnum": "kyc.models.documents.Document.Kind",
        "DocumentSideEnum": "kyc.models.documents.Document.Side",
        "RiskLevelEnum": "crm.models.clients.Client.RiskLevel",
    },
}

# --- Static, media, i18n ---------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("BROKERAGE_MEDIA_ROOT", BASE_DIR / "var" / "media"))
# Files no URL serves directly (KYC documents, encrypted), one folder per tenant schema below it.
BROKERAGE_PRIVATE_ROOT = Path(os.environ.get("BROKERAGE_PRIVATE_ROOT", BASE_DIR / "var" / "private"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Mail --------------------------------------------------------------------

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@brokerage.localhost")
# Text messages (phone verification): a dotted class path; empty = the sandbox, which sends nothing.
BROKERAGE_SMS_BACKEND = os.environ.get("BROKERAGE_SMS_BACKEND", "")

# --- Security ----------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("DJANGO_SECURE", not (DEBUG or TESTING or BROKERAGE_DEMO)):
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


# Links in emails sent outside a request (invitations from the CLI, reminders from tasks).
BROKERAGE_URL_SCHEME = os.environ.get("BROKERAGE_URL_SCHEME", "https")
BROKERAGE_URL_PORT = os.environ.get("BROKERAGE_URL_PORT", "")
BROKERAGE_REQUIRE_STAFF_MFA = env_bool("BROKERAGE_REQUIRE_STAFF_MFA", True)
# How many reverse proxies we run in front of the app (0: clients connect directly).
# The audit trail, allauth's login rate limits and DRF's throttles all read it.
BROKERAGE_TRUSTED_PROXY_COUNT = int(os.environ.get("BROKERAGE_TRUSTED_PROXY_COUNT", "0"))
ALLAUTH_TRUSTED_PROXY_COUNT = BROKERAGE_TRUSTED_PROXY_COUNT
REST_FRAMEWORK["NUM_PROXIES"] = BROKERAGE_TRUSTED_PROXY_COUNT

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    MFA_TOTP_TOLERANCE = 1
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Tasks run inline unless a test starts a real worker and says otherwise.
    CELERY_TASK_ALWAYS_EAGER = True
    # Tests share the developer's Redis: keep each run's cache keys (used TOTP codes,
    # rate limits) apart from the demo's and from other runs'.
    CACHES["default"]["KEY_PREFIX"] = f"test{os.getpid()}"
    # Uploaded KYC files of test runs stay out of the checkout.
    if "BROKERAGE_PRIVATE_ROOT" not in os.environ:
        BROKERAGE_PRIVATE_ROOT = Path(tempfile.gettempdir()) / "brokerage-test-private"
