"""pdjira console: the admin web console (server-rendered pages, no JavaScript needed).

Its own service because it only talks to the other services' admin APIs over HTTP (rules
``/rules``, mapping ``/admin/v1/...``, ingest ``/admin/v1/webhooks``) and to NATS for read-only
views: it can be deployed and exposed separately from webhook intake, and never imports another
service.

Auth (:mod:`pdjira_console.auth`): the admin token (``console.admin_token``) entered on
``/login`` gives a signed, HttpOnly, SameSite=Strict session cookie; or, with
``console.trusted_user_header`` set, that header's value is the user (ONLY behind a reverse
proxy that sets the header and strips it from clients). Every POST must carry the session's
CSRF token as the form field ``csrf_token`` (403 otherwise).

Writing a page
--------------
A page is a module ``pdjira_console/pages/<name>.py`` with::

    NAV = NavEntry("Rules", "/rules")          # the nav link (or None: no nav entry)

    def routes(console: Console) -> list[Route]:
        async def page(request: Request) -> Response:
            try:
                rules = await console.get_json(console.rules, "/rules")
            except AdminApiError as exc:
                return console.redirect(request, "/", error=exc.message)
            return console.render(request, "rules.html", rules=rules)

        async def add(request: Request) -> Response:
            form = await request.form()                # CSRF already checked
            ...
            return console.redirect(request, "/rules", notice="Rule added")

        return [Route("/rules", page), Route("/rules", add, methods=["POST"])]

and its templates in ``pdjira_console/templates/`` extending ``base.html`` (blocks ``title``
and ``content``; every ``<form method="post">`` includes ``{{ csrf_field() }}``). Register it
with one import and one line in :data:`pdjira_console.pages.PAGES`. Every route is behind the
login (the rare page a person without the admin token must use adds ``public_routes(console)``:
no login, its POSTs checked against a short-lived CSRF cookie, see ``app.public``);
:class:`~pdjira_console.context.Console` holds the config, async httpx clients for the
admin APIs (``console.rules``, ``console.mapping``, ``console.ingest``, bearer tokens set), the
read-only NATS connection (``console.nats`` / ``console.js``), ``render`` (adds the user, CSRF
token, nav and flash messages), ``redirect`` (POST/redirect/GET with a flash message) and
``api_error`` (an admin API error as a message for the user).
"""
