"""All tables, one module each. Importing this package registers every table on `Base.metadata`
(migrations and the test schema rely on that), so each new model module is imported here."""

from flomation.models import auth as auth
from flomation.models import connections as connections
from flomation.models import executions as executions
from flomation.models import flows as flows
from flomation.models import imported_services as imported_services
from flomation.models import runners as runners
from flomation.models import secrets as secrets
from flomation.models import triggers as triggers
