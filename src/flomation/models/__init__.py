"""All tables, one module each. Importing this package registers every table on `Base.metadata`
(migrations and the test schema rely on that), so each new model module is imported here."""

from flomation.models import auth as auth
from flomation.models import flows as flows  # noqa: F401
from flomation.models import runners as runners  # noqa: F401
from flomation.models import triggers as triggers  # noqa: F401
from flomation.models import executions as executions  # noqa: F401
from flomation.models import secrets as secrets  # noqa: F401
