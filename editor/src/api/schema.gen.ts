/**
 * The API's OpenAPI document as TypeScript types, written by `npm run api:generate` from
 * `flomation openapi`. Do not edit: change the API and regenerate.
 */

export interface paths {
    "/api/v1/flows/{flow_id}/executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Request Execution */
        post: operations["request_execution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Executions
         * @description Newest first.
         */
        get: operations["list_executions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Execution */
        get: operations["get_execution"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel Execution */
        post: operations["cancel_execution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Retry Execution */
        post: operations["retry_execution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows/validate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Validate Flow Definition */
        post: operations["validate_flow_definition"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/node-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Node Types
         * @description Flomation's node types and the organisation's imported OpenAPI services' ones.
         */
        get: operations["list_node_types"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Flows */
        get: operations["list_flows"];
        put?: never;
        /** Create Flow */
        post: operations["create_flow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows/{flow_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Flow */
        get: operations["get_flow"];
        /** Save Flow */
        put: operations["save_flow"];
        post?: never;
        /** Archive Flow */
        delete: operations["archive_flow"];
        options?: never;
        head?: never;
        /** Update Flow */
        patch: operations["update_flow"];
        trace?: never;
    };
    "/api/v1/flows/{flow_id}/revisions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Revisions */
        get: operations["list_flow_revisions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows/{flow_id}/revisions/{revision}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Revision */
        get: operations["get_flow_revision"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows/{flow_id}/diff": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Diff Revisions */
        get: operations["diff_flow_revisions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows/{flow_id}/revisions/{revision}/restore": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Restore Revision */
        post: operations["restore_flow_revision"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner-tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Runner Tokens */
        get: operations["list_runner_tokens"];
        put?: never;
        /** Create Runner Token */
        post: operations["create_runner_token"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner-tokens/{token_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke Runner Token */
        delete: operations["revoke_runner_token"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runners": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Runners */
        get: operations["list_runners"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runners/{runner_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Delete Runner */
        delete: operations["delete_runner"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Logout
         * @description End the session this request is authenticated with, and clear its cookies.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Me */
        get: operations["get_me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Tokens
         * @description The caller's personal API tokens, without their secrets.
         */
        get: operations["list_tokens"];
        put?: never;
        /**
         * Create Token
         * @description A personal API token acting as the caller; its secret is in this answer only.
         */
        post: operations["create_token"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens/{token_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke Token */
        delete: operations["revoke_token"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Users */
        get: operations["list_users"];
        put?: never;
        /** Create User */
        post: operations["create_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get User */
        get: operations["get_user"];
        put?: never;
        post?: never;
        /**
         * Delete User
         * @description Remove a user; every token and session of theirs stops working at once.
         */
        delete: operations["delete_user"];
        options?: never;
        head?: never;
        /**
         * Update User
         * @description Admins change other users; anyone changes their own name and password.
         */
        patch: operations["update_user"];
        trace?: never;
    };
    "/api/v1/organization": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Organization */
        get: operations["get_organization"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Update Organization */
        patch: operations["update_organization"];
        trace?: never;
    };
    "/api/v1/variables": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Variables */
        get: operations["list_variables"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/variables/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Variable */
        get: operations["get_variable"];
        /** Put Variable */
        put: operations["put_variable"];
        post?: never;
        /** Delete Variable */
        delete: operations["delete_variable"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Secrets
         * @description Names and dates only.
         */
        get: operations["list_secrets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/secrets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Put Secret
         * @description Stores the value encrypted; answers with the name and dates, never the value.
         */
        put: operations["put_secret"];
        post?: never;
        /** Delete Secret */
        delete: operations["delete_secret"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connection-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Connection Types
         * @description Built-in and plugin connection types and the organisation's imported OpenAPI
         *     services' (`openapi.<name>`), with their values' JSON schema.
         */
        get: operations["list_connection_types"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connection-types/openapi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Openapi Services */
        get: operations["list_openapi_services"];
        put?: never;
        /**
         * Import Openapi Service
         * @description Makes the connection type `openapi.<name>` and one node type per operation
         *     (`openapi.<name>.<operationId>`); importing again under a name replaces them. A document
         *     that cannot be imported is a 422 whose `pointer` names its first broken place.
         */
        post: operations["import_openapi_service"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connection-types/openapi/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Openapi Service */
        get: operations["get_openapi_service"];
        put?: never;
        post?: never;
        /**
         * Delete Openapi Service
         * @description 409 naming the flows whose current revision uses its node types, unless `force`.
         */
        delete: operations["delete_openapi_service"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connections": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Connections
         * @description By name; secret fields that are set read `"***"`.
         */
        get: operations["list_connections"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connections/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Connection */
        get: operations["get_connection"];
        /**
         * Put Connection
         * @description Create or replace. Values are checked against the type's schema (422 naming the
         *     field); a secret field sent as `"***"` keeps its stored value.
         */
        put: operations["put_connection"];
        post?: never;
        /** Delete Connection */
        delete: operations["delete_connection"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/flows/{flow_id}/triggers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Flow Triggers */
        get: operations["list_flow_triggers"];
        put?: never;
        /** Create Trigger */
        post: operations["create_trigger"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/triggers/{trigger_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Trigger */
        get: operations["get_trigger"];
        put?: never;
        post?: never;
        /** Delete Trigger */
        delete: operations["delete_trigger"];
        options?: never;
        head?: never;
        /** Update Trigger */
        patch: operations["update_trigger"];
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Login
         * @description Open a session: the token is answered and set as an HttpOnly cookie with a CSRF cookie.
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Signup
         * @description A new organisation with the caller as its owner (only when sign-up is open).
         */
        post: operations["signup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Register
         * @description Register a runner with a runner token. The request is signed with the key it registers
         *     (runner id `-`), proving the runner holds it.
         */
        post: operations["runner_register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/claim": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Claim
         * @description Long poll for work: up to `free_slots` executions, and cancels for held ones.
         */
        post: operations["runner_claim"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Heartbeat */
        post: operations["runner_heartbeat"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Events
         * @description Events (and ends) of one or several executions; each item is fenced by its attempt.
         */
        post: operations["runner_events"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Complete
         * @description One execution's last events and its end. 409 when this attempt no longer holds it.
         */
        post: operations["runner_complete"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Release
         * @description Hand executions back to the queue at once (the runner is shutting down).
         */
        post: operations["runner_release"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/goodbye": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Goodbye
         * @description The runner is exiting: it is listed offline at once and its later requests are refused
         *     (a runner that dies without a goodbye is offline after `runner_offline_after_seconds`).
         */
        post: operations["runner_goodbye"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/subflows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Start Subflow */
        post: operations["runner_start_subflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/subflows/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Subflow State
         * @description The child execution's state; with `wait_s`, answers when it ends or the wait is over.
         */
        get: operations["runner_subflow_state"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/probes/{probe_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Probe Result
         * @description The result of a connection test this runner took with a claim. 404 when the probe is
         *     not this runner's to answer (another took it, or it expired).
         */
        post: operations["runner_probe_result"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runner/connections/{name}/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Refresh Connection
         * @description A service refused an OAuth 2 connection's token (401): the connection with a new one,
         *     or `status` `needs_reconnect` (see `connections.oauth`). 409 for a stale attempt.
         */
        post: operations["runner_refresh_connection"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Stream Execution Events
         * @description Server-Sent Events: `step`, `log`, `execution` and `end`, each with its sequence number
         *     as `id`. What happened so far first, then live; `Last-Event-ID` resumes after that event.
         *     The stream closes after `end`.
         */
        get: operations["stream_execution_events"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connections/{name}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run Connection Test
         * @description Runs the type's probe on a runner (whose labels cover `runs_on`), within 15 s; the
         *     answer is also stored on the connection (`last_tested_at`, `last_error`).
         */
        post: operations["test_connection"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/connections/{name}/oauth/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Start Oauth
         * @description Starts the authorization code flow (PKCE S256, a single-use state that expires in
         *     10 minutes) and sends the browser to the provider.
         */
        get: operations["start_connection_oauth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/oauth/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Oauth Callback
         * @description Where the provider sends the browser back with `code` and `state` (or `error`).
         */
        get: operations["oauth_callback"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Healthz
         * @description The process is alive.
         */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readyz
         * @description The database answers and its schema is at the newest migration.
         */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/hooks/{path}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Call Webhook */
        get: operations["call_webhook_get"];
        /** Call Webhook */
        put: operations["call_webhook_put"];
        /** Call Webhook */
        post: operations["call_webhook_post"];
        /** Call Webhook */
        delete: operations["call_webhook_delete"];
        options?: never;
        head?: never;
        /** Call Webhook */
        patch: operations["call_webhook_patch"];
        trace?: never;
    };
    "/forms/{path}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Show Form */
        get: operations["show_form"];
        put?: never;
        /** Submit Form */
        post: operations["submit_form"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * AuthResult
         * @description The answer of login and sign-up: a session token (also set as a cookie) and the user.
         */
        AuthResult: {
            /** Token */
            token: string;
            user: components["schemas"]["UserView"];
        };
        /** AuthorOut */
        AuthorOut: {
            /** Id */
            id: string;
            /** Name */
            name: string | null;
        };
        /** CancelAccepted */
        CancelAccepted: {
            /** Id */
            id: string;
            status: components["schemas"]["ExecutionStatus"];
            /** Cancel Requested At */
            cancel_requested_at?: string | null;
        };
        /** ClaimRequest */
        ClaimRequest: {
            /** Free Slots */
            free_slots: number;
            /** Wait S */
            wait_s?: number | null;
            /** Held */
            held?: components["schemas"]["HeldExecution"][];
            /**
             * Probes
             * @description This runner runs connection tests (`ProbeRequest`)
             * @default false
             */
            probes?: boolean;
        };
        /** ClaimResponse */
        ClaimResponse: {
            /** Executions */
            executions: components["schemas"]["ClaimedExecution"][];
            /**
             * Probes
             * @description Connection tests to run (runners that said `probes`)
             */
            probes?: components["schemas"]["ProbeRequest"][];
            /**
             * Cancel
             * @description Held executions to cancel
             */
            cancel: string[];
            /**
             * Lost
             * @description Held executions this runner no longer holds
             */
            lost: string[];
        };
        /**
         * ClaimedConnection
         * @description A connection an execution's flow references, decrypted: its type, its values (secret
         *     fields included; the runner masks them) and its status (`ok`, `needs_reconnect`).
         */
        ClaimedConnection: {
            /** Type */
            type: string;
            /** Values */
            values: {
                [key: string]: unknown;
            };
            /**
             * Status
             * @default ok
             */
            status?: string;
        };
        /**
         * ClaimedExecution
         * @description One execution leased to the runner, with all it needs to run it.
         *
         *     `attempt` is the fencing token: every later call about this execution names it, and is
         *     refused once another attempt has taken over. `deadline_in_s` spares the runner from
         *     trusting its own clock against the server's. For a retry from `from_node`,
         *     `prior_outputs` maps the node ids before it to `{"output", "port"}` (or to the output
         *     alone) of their succeeded steps, reused instead of running those nodes again.
         *     `recovery_error` set makes this a recovery attempt: only the flow's on_error branch runs,
         *     with it as `error`, and the execution ends failed with it.
         */
        ClaimedExecution: {
            /** Id */
            id: string;
            /** Flow Id */
            flow_id: string;
            /** Revision */
            revision: number;
            /** Attempt */
            attempt: number;
            /** Definition */
            definition: {
                [key: string]: unknown;
            };
            /** Input */
            input: unknown;
            /** Trigger */
            trigger: {
                [key: string]: unknown;
            };
            /**
             * Lease Expires At
             * @description RFC 3339
             */
            lease_expires_at: string;
            /**
             * Deadline At
             * @description RFC 3339; None without a time limit
             */
            deadline_at: string | null;
            /** Deadline In S */
            deadline_in_s: number | null;
            /** Timeout S */
            timeout_s: number | null;
            /** Depth */
            depth: number;
            /** Parent Execution Id */
            parent_execution_id: string | null;
            /** From Node */
            from_node: string | null;
            /** Prior Outputs */
            prior_outputs: {
                [key: string]: unknown;
            } | null;
            /** Recovery Error */
            recovery_error: {
                [key: string]: unknown;
            } | null;
            /** Variables */
            variables: {
                [key: string]: unknown;
            };
            /** Secrets */
            secrets: {
                [key: string]: string;
            };
            /**
             * Connections
             * @description Only the connections the definition references
             */
            connections?: {
                [key: string]: components["schemas"]["ClaimedConnection"];
            };
            /**
             * Imported Services
             * @description The imported OpenAPI services whose node types the definition uses, as stored (`ImportedService.to_dict()`); the runner rebuilds their types from them
             */
            imported_services?: {
                [key: string]: unknown;
            }[];
        };
        /**
         * CompleteRequest
         * @description One execution's last events and its end, in one request.
         */
        CompleteRequest: {
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
            /** Events */
            events?: (components["schemas"]["ExecutionStarted"] | components["schemas"]["NodeStarted"] | components["schemas"]["NodeRetrying"] | components["schemas"]["NodeSucceeded"] | components["schemas"]["NodeFailed"] | components["schemas"]["NodeSkipped"] | components["schemas"]["NodeCancelled"] | components["schemas"]["LogLine"] | components["schemas"]["ExecutionFinished"])[];
            complete: components["schemas"]["Completion"];
        };
        /** Completion */
        Completion: {
            /**
             * Status
             * @enum {string}
             */
            status: "succeeded" | "failed" | "cancelled" | "timed_out";
            /** Output */
            output?: unknown;
            /** Error */
            error?: {
                [key: string]: unknown;
            } | null;
        };
        /**
         * ConnectionBody
         * @description `PUT /connections/{name}`: a secret field sent as `"***"` keeps its stored value.
         */
        ConnectionBody: {
            /** Type */
            type: string;
            /** Values */
            values: {
                [key: string]: unknown;
            };
        };
        /**
         * ConnectionRefreshRequest
         * @description `POST /runner/connections/{name}/refresh`: a service answered 401 to a node of this
         *     execution attempt (the fencing: a stale attempt is refused) with the token whose SHA-256
         *     (hex) is `refused_token_sha256` (the token itself is not sent back).
         */
        ConnectionRefreshRequest: {
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
            /** Refused Token Sha256 */
            refused_token_sha256: string;
        };
        /**
         * ConnectionTestBody
         * @description `POST /connections/{name}/test`: which runners may run the probe (their labels).
         */
        ConnectionTestBody: {
            /** Runs On */
            runs_on?: {
                [key: string]: string;
            };
        };
        /** ConnectionTestResult */
        ConnectionTestResult: {
            /** Ok */
            ok: boolean;
            /** Message */
            message: string;
            /** Duration Ms */
            duration_ms: number;
        };
        /**
         * ConnectionTypeView
         * @description One connection type: the JSON schema of its values (secret fields marked
         *     `"x-secret": true`) and which of them are secret. A plugin's type may add fields.
         */
        ConnectionTypeView: {
            /** Type */
            type: string;
            /** Title */
            title: string;
            /**
             * Schema
             * @description JSON Schema of the connection's values
             */
            schema: {
                [key: string]: unknown;
            };
            /**
             * Secret Fields
             * @description Write-only fields, answered as "***"
             */
            secret_fields: string[];
            /**
             * Auth
             * @description "oauth2" for OAuth 2 types
             */
            auth?: string | null;
            /**
             * Icon
             * @default plug
             */
            icon?: string;
            /**
             * Description
             * @default
             */
            description?: string;
        } & {
            [key: string]: unknown;
        };
        /**
         * ConnectionView
         * @description A connection as users see it: secret fields that are set read `"***"`.
         */
        ConnectionView: {
            /** Name */
            name: string;
            /** Type */
            type: string;
            /** Values */
            values: {
                [key: string]: unknown;
            };
            /**
             * Status
             * @description "ok", or "needs_reconnect" when an OAuth refresh failed
             */
            status: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Last Tested At */
            last_tested_at: string | null;
            /** Last Error */
            last_error: string | null;
        };
        /** CreateFlowBody */
        CreateFlowBody: {
            /** Name */
            name: string;
            /**
             * Description
             * @default
             */
            description?: string;
            /** Definition */
            definition: {
                [key: string]: unknown;
            };
            /** Message */
            message?: string | null;
        };
        /**
         * CreatedToken
         * @description A new personal API token: `token` is shown this once and never again.
         */
        CreatedToken: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Token */
            token: string;
            /** Expires At */
            expires_at: string | null;
        };
        /**
         * DiffOut
         * @description Nodes by id (`changed` when anything but `position` differs, with the changed fields),
         *     edges as `{from, to, port}`, settings by top-level field name.
         */
        DiffOut: {
            nodes: components["schemas"]["NodesDiffOut"];
            edges: components["schemas"]["EdgesDiffOut"];
            settings: components["schemas"]["SettingsDiffOut"];
        };
        /** EdgeOut */
        EdgeOut: {
            /** From */
            from: string;
            /** To */
            to: string;
            /** Port */
            port: string;
        };
        /** EdgesDiffOut */
        EdgesDiffOut: {
            /** Added */
            added: components["schemas"]["EdgeOut"][];
            /** Removed */
            removed: components["schemas"]["EdgeOut"][];
            /** Reordered */
            reordered: boolean;
        };
        /**
         * ErrorInfo
         * @description Why a step or an execution failed, as the engine and the runner report it (other fields
         *     may follow).
         */
        ErrorInfo: {
            /** Node Id */
            node_id?: string | null;
            /** Type */
            type?: string;
            /** Message */
            message?: string;
            /** Attempt */
            attempt?: number;
        } & {
            [key: string]: unknown;
        };
        /** ExecutionFinished */
        ExecutionFinished: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "execution.finished";
            status: components["schemas"]["ExecutionStatus"];
            /** Output */
            output?: unknown;
            /** Error */
            error?: {
                [key: string]: unknown;
            } | null;
        };
        /**
         * ExecutionRequest
         * @description Body of `POST /api/v1/flows/{id}/executions`.
         */
        ExecutionRequest: {
            /** Input */
            input?: unknown;
            /** Revision */
            revision?: number | null;
            /** Runs On */
            runs_on?: {
                [key: string]: string;
            } | null;
        };
        /** ExecutionStarted */
        ExecutionStarted: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "execution.started";
            /** Input */
            input?: unknown;
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
            /** Flow Id */
            flow_id: string;
            /** Flow Revision */
            flow_revision: number;
        };
        /**
         * ExecutionStatus
         * @description Where an execution is: queued until a runner claims it, running until it ends in one
         *     of the four final statuses.
         * @enum {string}
         */
        ExecutionStatus: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out";
        /**
         * ExecutionSummary
         * @description An execution without its steps and logs (lists, stream events).
         */
        ExecutionSummary: {
            /** Id */
            id: string;
            /** Flow Id */
            flow_id: string;
            /** Revision */
            revision: number;
            status: components["schemas"]["ExecutionStatus"];
            /** Status Detail */
            status_detail?: string | null;
            /** Input */
            input?: unknown;
            /** Output */
            output?: unknown;
            /** Error */
            error?: components["schemas"]["ErrorInfo"] | null;
            /**
             * TriggerInfo
             * @description What started an execution: its `type` (manual, retry, error_flow, a trigger's type...),
             *     the trigger's `id` when one fired, and fields of that type.
             */
            trigger: {
                /** Type */
                type: string;
                /** Id */
                id?: string;
            } & {
                [key: string]: unknown;
            };
            /** Runs On */
            runs_on?: {
                [key: string]: string;
            };
            /** Retry Of */
            retry_of?: string | null;
            /** From Node */
            from_node?: string | null;
            /** Parent Execution Id */
            parent_execution_id?: string | null;
            /**
             * Depth
             * @default 0
             */
            depth?: number;
            /** Runner Id */
            runner_id?: string | null;
            /**
             * Attempt
             * @default 0
             */
            attempt?: number;
            /**
             * Queued At
             * Format: date-time
             */
            queued_at: string;
            /** Started At */
            started_at?: string | null;
            /** Finished At */
            finished_at?: string | null;
            /** Deadline At */
            deadline_at?: string | null;
            /** Cancel Requested At */
            cancel_requested_at?: string | null;
        };
        /**
         * ExecutionView
         * @description `GET /api/v1/executions/{id}`: the execution with its steps and logs.
         */
        ExecutionView: {
            /** Id */
            id: string;
            /** Flow Id */
            flow_id: string;
            /** Revision */
            revision: number;
            status: components["schemas"]["ExecutionStatus"];
            /** Status Detail */
            status_detail?: string | null;
            /** Input */
            input?: unknown;
            /** Output */
            output?: unknown;
            /** Error */
            error?: components["schemas"]["ErrorInfo"] | null;
            /**
             * TriggerInfo
             * @description What started an execution: its `type` (manual, retry, error_flow, a trigger's type...),
             *     the trigger's `id` when one fired, and fields of that type.
             */
            trigger: {
                /** Type */
                type: string;
                /** Id */
                id?: string;
            } & {
                [key: string]: unknown;
            };
            /** Runs On */
            runs_on?: {
                [key: string]: string;
            };
            /** Retry Of */
            retry_of?: string | null;
            /** From Node */
            from_node?: string | null;
            /** Parent Execution Id */
            parent_execution_id?: string | null;
            /**
             * Depth
             * @default 0
             */
            depth?: number;
            /** Runner Id */
            runner_id?: string | null;
            /**
             * Attempt
             * @default 0
             */
            attempt?: number;
            /**
             * Queued At
             * Format: date-time
             */
            queued_at: string;
            /** Started At */
            started_at?: string | null;
            /** Finished At */
            finished_at?: string | null;
            /** Deadline At */
            deadline_at?: string | null;
            /** Cancel Requested At */
            cancel_requested_at?: string | null;
            /** Steps */
            steps?: components["schemas"]["StepView"][];
            /** Logs */
            logs?: components["schemas"]["LogView"][];
        };
        /**
         * FlowOut
         * @description A flow at its current revision, with the definition and its content hash.
         */
        FlowOut: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Description */
            description: string;
            /** Revision */
            revision: number;
            /** Max Concurrent Executions */
            max_concurrent_executions: number | null;
            /**
             * Save Data
             * @description What this flow's executions keep: `all` (steps and logs), `errors` (steps and logs of executions that did not succeed), `none` (the execution's summary only); null: the organisation's default (`defaults.save_data`). Applies to executions ending after it
             */
            save_data: ("all" | "errors" | "none") | null;
            /** Runs On */
            runs_on: {
                [key: string]: unknown;
            };
            /** Created By */
            created_by: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Archived At */
            archived_at: string | null;
            /** Definition */
            definition: {
                [key: string]: unknown;
            };
            /** Hash */
            hash: string;
        } & {
            [key: string]: unknown;
        };
        /** FlowPage */
        FlowPage: {
            /** Items */
            items: components["schemas"]["FlowSummaryOut"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /**
         * FlowSummaryOut
         * @description A flow in the list, without its definition. Other domains may add fields to list
         *     items (see `flomation.flows.service.FlowListAnnotator`), hence `extra="allow"`.
         */
        FlowSummaryOut: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Description */
            description: string;
            /** Revision */
            revision: number;
            /** Max Concurrent Executions */
            max_concurrent_executions: number | null;
            /**
             * Save Data
             * @description What this flow's executions keep: `all` (steps and logs), `errors` (steps and logs of executions that did not succeed), `none` (the execution's summary only); null: the organisation's default (`defaults.save_data`). Applies to executions ending after it
             */
            save_data: ("all" | "errors" | "none") | null;
            /** Runs On */
            runs_on: {
                [key: string]: unknown;
            };
            /** Created By */
            created_by: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Archived At */
            archived_at: string | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * GoodbyeRequest
         * @description A runner's last call at a clean shutdown; nothing to say but that it goes.
         */
        GoodbyeRequest: Record<string, never>;
        /** HeartbeatRequest */
        HeartbeatRequest: {
            /** Held */
            held?: components["schemas"]["HeldExecution"][];
            /**
             * Running
             * @default 0
             */
            running?: number;
        };
        /** HeartbeatResponse */
        HeartbeatResponse: {
            /** Renewed */
            renewed: string[];
            /** Cancel */
            cancel: string[];
            /** Lost */
            lost: string[];
        };
        /** HeldExecution */
        HeldExecution: {
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
        };
        /**
         * ImportedServiceSummary
         * @description An imported service in the list.
         */
        ImportedServiceSummary: {
            /** Name */
            name: string;
            /**
             * Type
             * @description Its connection type, `openapi.<name>`
             */
            type: string;
            /** Title */
            title: string;
            /** Version */
            version: string;
            /** Openapi */
            openapi: string;
            /** Operation Count */
            operation_count: number;
            /** Notes */
            notes: string[];
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /**
         * ImportedServiceView
         * @description What an import made: the connection type and one node type per operation, and what it
         *     left out (`notes`).
         */
        ImportedServiceView: {
            /** Name */
            name: string;
            /** Title */
            title: string;
            /** Version */
            version: string;
            /** Openapi */
            openapi: string;
            connection_type: components["schemas"]["ConnectionTypeView"];
            /** Node Types */
            node_types: {
                [key: string]: unknown;
            }[];
            /** Notes */
            notes: string[];
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /** LogLine */
        LogLine: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "log";
            /** Node Id */
            node_id: string | null;
            /** Step */
            step?: number | null;
            /**
             * Level
             * @enum {string}
             */
            level: "debug" | "info" | "warning" | "error";
            /** Message */
            message: string;
        };
        /** LogView */
        LogView: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /** Node Id */
            node_id?: string | null;
            /** Level */
            level: string;
            /** Message */
            message: string;
        };
        /** LoginRequest */
        LoginRequest: {
            /** Email */
            email: string;
            /** Password */
            password: string;
        };
        /** MeView */
        MeView: {
            /** Id */
            id: string;
            /** Email */
            email: string;
            /** Name */
            name: string;
            organization: components["schemas"]["OrganizationRef"];
            role: components["schemas"]["Role"];
        };
        /** NodeCancelled */
        NodeCancelled: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "node.cancelled";
            /**
             * Step
             * @description The step's number in this attempt
             */
            step: number;
            /** Node Id */
            node_id: string;
            /** Attempts */
            attempts: number;
            /** Duration Ms */
            duration_ms: number;
        };
        /** NodeChangeOut */
        NodeChangeOut: {
            /** Id */
            id: string;
            /** Fields */
            fields: string[];
        };
        /** NodeFailed */
        NodeFailed: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "node.failed";
            /**
             * Step
             * @description The step's number in this attempt
             */
            step: number;
            /** Node Id */
            node_id: string;
            /** Attempts */
            attempts: number;
            /** Error */
            error: {
                [key: string]: unknown;
            };
            /**
             * Handled
             * @description Its error port takes the error
             */
            handled: boolean;
            /** Duration Ms */
            duration_ms: number;
        };
        /** NodeRetrying */
        NodeRetrying: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "node.retrying";
            /**
             * Step
             * @description The step's number in this attempt
             */
            step: number;
            /** Node Id */
            node_id: string;
            /**
             * Attempt
             * @description The attempt that failed
             */
            attempt: number;
            /** Error */
            error: {
                [key: string]: unknown;
            };
            /** Delay S */
            delay_s: number;
        };
        /** NodeSkipped */
        NodeSkipped: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "node.skipped";
            /**
             * Step
             * @description The step's number in this attempt
             */
            step: number;
            /** Node Id */
            node_id: string;
            /**
             * Visit
             * @description How many times the node ran, this one
             */
            visit: number | null;
            /** Iteration */
            iteration?: unknown;
            /** Parent Step */
            parent_step?: number | null;
        };
        /** NodeStarted */
        NodeStarted: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "node.started";
            /**
             * Step
             * @description The step's number in this attempt
             */
            step: number;
            /** Node Id */
            node_id: string;
            /**
             * Visit
             * @description How many times the node ran, this one
             */
            visit: number | null;
            /** Iteration */
            iteration?: unknown;
            /** Parent Step */
            parent_step?: number | null;
            /** Attempt */
            attempt: number;
            /** Input */
            input?: unknown;
            /**
             * Input Truncated
             * @default false
             */
            input_truncated?: boolean;
            /**
             * Reused
             * @default false
             */
            reused?: boolean;
        };
        /** NodeSucceeded */
        NodeSucceeded: {
            /** Seq */
            seq: number;
            /**
             * At
             * Format: date-time
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "node.succeeded";
            /**
             * Step
             * @description The step's number in this attempt
             */
            step: number;
            /** Node Id */
            node_id: string;
            /** Attempts */
            attempts: number;
            /** Output */
            output?: unknown;
            /**
             * Output Truncated
             * @default false
             */
            output_truncated?: boolean;
            /** Port */
            port: string;
            /**
             * Duration Ms
             * @description None when a retry reused it
             */
            duration_ms?: number | null;
            /**
             * Reused
             * @default false
             */
            reused?: boolean;
        };
        /**
         * NodeTypeOut
         * @description A node type as the editor's palette and config forms use it. A plugin's type may add
         *     fields of its own, hence `extra="allow"`.
         */
        NodeTypeOut: {
            /** Type */
            type: string;
            /** Title */
            title: string;
            /** Description */
            description: string;
            /** Icon */
            icon: string;
            /** Group */
            group: string;
            /**
             * Ports
             * @description The output ports for the default config
             */
            ports: string[];
            /**
             * Config Schema
             * @description JSON Schema of the node's config
             */
            config_schema: {
                [key: string]: unknown;
            };
            /**
             * Output Schema
             * @description JSON Schema of the node's output
             */
            output_schema: {
                [key: string]: unknown;
            };
            /**
             * Connection Types
             * @description The connection types the node's `connection` may name (empty: none)
             */
            connection_types?: string[];
            /**
             * Docs Url
             * @description The type's documentation: an absolute URL, or a path in the Flomation repository (`docs/...`)
             */
            docs_url?: string | null;
        } & {
            [key: string]: unknown;
        };
        /** NodeTypesOut */
        NodeTypesOut: {
            /** Items */
            items: components["schemas"]["NodeTypeOut"][];
        };
        /** NodesDiffOut */
        NodesDiffOut: {
            /** Added */
            added: string[];
            /** Removed */
            removed: string[];
            /** Changed */
            changed: components["schemas"]["NodeChangeOut"][];
        };
        /**
         * OpenApiImportBody
         * @description `POST /connection-types/openapi`: an OpenAPI 3.0/3.1 document (JSON or YAML text, or
         *     the document as a JSON object), at most 5 MiB, imported as `openapi.<name>`.
         */
        OpenApiImportBody: {
            /**
             * Name
             * @description ^[A-Za-z_][A-Za-z0-9_]{0,63}$
             */
            name: string;
            /** Document */
            document: string | {
                [key: string]: unknown;
            };
        };
        /**
         * OrganizationDefaults
         * @description What the organisation's flows do when their own settings do not say.
         */
        OrganizationDefaults: {
            /**
             * Save Data
             * @description What executions keep: `all` (steps and logs), `errors` (steps and logs of executions that did not succeed), `none` (the execution's summary only)
             * @enum {string}
             */
            save_data: "all" | "errors" | "none";
        };
        /** OrganizationDefaultsUpdate */
        OrganizationDefaultsUpdate: {
            /** Save Data */
            save_data?: ("all" | "errors" | "none") | null;
        };
        /** OrganizationRef */
        OrganizationRef: {
            /** Id */
            id: string;
            /** Name */
            name: string;
        };
        /** OrganizationUpdate */
        OrganizationUpdate: {
            /** Name */
            name?: string | null;
            /**
             * Error Flow Id
             * @description The flow started with every failed execution; null clears it
             */
            error_flow_id?: string | null;
            defaults?: components["schemas"]["OrganizationDefaultsUpdate"] | null;
        };
        /** OrganizationView */
        OrganizationView: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Error Flow Id */
            error_flow_id: string | null;
            defaults: components["schemas"]["OrganizationDefaults"];
            /** Created At */
            created_at: string;
        };
        /** Page[ConnectionView] */
        Page_ConnectionView_: {
            /** Items */
            items: components["schemas"]["ConnectionView"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[ExecutionSummary] */
        Page_ExecutionSummary_: {
            /** Items */
            items: components["schemas"]["ExecutionSummary"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[TokenView] */
        Page_TokenView_: {
            /** Items */
            items: components["schemas"]["TokenView"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[TriggerOut] */
        Page_TriggerOut_: {
            /** Items */
            items: components["schemas"]["TriggerOut"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** Page[UserView] */
        Page_UserView_: {
            /** Items */
            items: components["schemas"]["UserView"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /**
         * PatchFlowBody
         * @description Only the fields sent change; `max_concurrent_executions: null` removes the limit,
         *     `save_data: null` hands the flow back to the organisation's default.
         */
        PatchFlowBody: {
            /** Name */
            name?: string | null;
            /** Description */
            description?: string | null;
            /** Max Concurrent Executions */
            max_concurrent_executions?: number | null;
            /**
             * Save Data
             * @description What this flow's executions keep: `all` (steps and logs), `errors` (steps and logs of executions that did not succeed), `none` (the execution's summary only); null: the organisation's default (`defaults.save_data`). Applies to executions ending after it
             */
            save_data?: ("all" | "errors" | "none") | null;
        };
        /**
         * ProbeRequest
         * @description Test connection `connection` (its type and decrypted values) within `timeout_s`.
         */
        ProbeRequest: {
            /** Id */
            id: string;
            /** Connection */
            connection: string;
            /** Type */
            type: string;
            /** Values */
            values: {
                [key: string]: unknown;
            };
            /** Timeout S */
            timeout_s: number;
            /**
             * Imported Service
             * @description For a connection of an imported OpenAPI type: the service, as stored
             */
            imported_service?: {
                [key: string]: unknown;
            } | null;
        };
        /**
         * ProbeResult
         * @description What the probe said: `ok` and a short message for the user (masked of the values).
         */
        ProbeResult: {
            /** Ok */
            ok: boolean;
            /** Message */
            message: string;
            /** Duration Ms */
            duration_ms: number;
        };
        /** ProblemItem */
        ProblemItem: {
            /** Loc */
            loc: (string | number)[];
            /** Msg */
            msg: string;
            /** Node Id */
            node_id?: string | null;
            /** Field */
            field?: string | null;
        };
        /**
         * RefusedItem
         * @description A batch item that does not match `ReportItem`: refused alone (`rejected`), so that one
         *     execution's malformed report never sinks the others of the batch.
         */
        RefusedItem: {
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
            /** Detail */
            detail: string;
        };
        /** RegisterRequest */
        RegisterRequest: {
            /**
             * Token
             * @description The runner token (or send it as 'Authorization: Bearer')
             */
            token?: string | null;
            /** Name */
            name: string;
            /** Labels */
            labels?: {
                [key: string]: string;
            };
            /** Max Concurrent Executors */
            max_concurrent_executors: number;
            /**
             * Public Key
             * @description Ed25519, base64
             */
            public_key: string;
            /** Version */
            version: string;
        };
        /** RegisterResponse */
        RegisterResponse: {
            /** Runner Id */
            runner_id: string;
            /** Organization Id */
            organization_id: string;
            /** Name */
            name: string;
            /** Labels */
            labels: {
                [key: string]: string;
            };
            /** Api Public Key */
            api_public_key: string;
            /** Lease Seconds */
            lease_seconds: number;
            /** Heartbeat Interval S */
            heartbeat_interval_s: number;
            /** Claim Wait Seconds */
            claim_wait_seconds: number;
            /** Signature Max Skew Seconds */
            signature_max_skew_seconds: number;
            /** Max Subflow Depth */
            max_subflow_depth: number;
        };
        /** ReleaseRequest */
        ReleaseRequest: {
            /** Executions */
            executions: components["schemas"]["HeldExecution"][];
        };
        /** ReportItem */
        ReportItem: {
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
            /** Events */
            events?: (components["schemas"]["ExecutionStarted"] | components["schemas"]["NodeStarted"] | components["schemas"]["NodeRetrying"] | components["schemas"]["NodeSucceeded"] | components["schemas"]["NodeFailed"] | components["schemas"]["NodeSkipped"] | components["schemas"]["NodeCancelled"] | components["schemas"]["LogLine"] | components["schemas"]["ExecutionFinished"])[];
            complete?: components["schemas"]["Completion"] | null;
        };
        /** ReportRequest */
        ReportRequest: {
            /** Items */
            items: components["schemas"]["ReportItem"][];
        };
        /** ReportResponse */
        ReportResponse: {
            /** Results */
            results: components["schemas"]["ReportResult"][];
        };
        /** ReportResult */
        ReportResult: {
            /** Execution Id */
            execution_id: string;
            /** Attempt */
            attempt: number;
            /**
             * Result
             * @enum {string}
             */
            result: "ok" | "stale" | "not_found" | "rejected";
            /** Detail */
            detail?: string | null;
        };
        /** RestoreBody */
        RestoreBody: {
            /** Message */
            message?: string | null;
        };
        /**
         * RetryRequest
         * @description Body of `POST /api/v1/executions/{id}/retry`.
         */
        RetryRequest: {
            /** From Node */
            from_node?: string | null;
        };
        /** RevisionOut */
        RevisionOut: {
            /** Revision */
            revision: number;
            author: components["schemas"]["AuthorOut"] | null;
            /** Message */
            message: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Hash */
            hash: string;
            /** Flow Id */
            flow_id: string;
            /** Definition */
            definition: {
                [key: string]: unknown;
            };
        };
        /** RevisionPage */
        RevisionPage: {
            /** Items */
            items: components["schemas"]["RevisionSummaryOut"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** RevisionSummaryOut */
        RevisionSummaryOut: {
            /** Revision */
            revision: number;
            author: components["schemas"]["AuthorOut"] | null;
            /** Message */
            message: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Hash */
            hash: string;
        };
        /**
         * Role
         * @enum {string}
         */
        Role: "viewer" | "editor" | "admin" | "owner";
        /** RunnerItem */
        RunnerItem: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Labels */
            labels: {
                [key: string]: string;
            };
            /**
             * Status
             * @enum {string}
             */
            status: "online" | "offline";
            /** Max Concurrent Executors */
            max_concurrent_executors: number;
            /** Running */
            running: number;
            /** Last Seen At */
            last_seen_at: string | null;
            /** Registered At */
            registered_at: string | null;
            /** Version */
            version: string;
        };
        /** RunnerList */
        RunnerList: {
            /** Items */
            items: components["schemas"]["RunnerItem"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** RunnerTokenCreate */
        RunnerTokenCreate: {
            /** Name */
            name: string;
            /** Labels */
            labels?: {
                [key: string]: string;
            };
            /** Expires At */
            expires_at?: string | null;
        };
        /** RunnerTokenCreated */
        RunnerTokenCreated: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Labels */
            labels: {
                [key: string]: string;
            };
            /** Expires At */
            expires_at: string | null;
            /**
             * Token
             * @description The secret, shown this once
             */
            token: string;
        };
        /** RunnerTokenItem */
        RunnerTokenItem: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Labels */
            labels: {
                [key: string]: string;
            };
            /** Created At */
            created_at: string | null;
            /** Expires At */
            expires_at: string | null;
            /** Revoked At */
            revoked_at: string | null;
            /** Last Used At */
            last_used_at: string | null;
        };
        /** RunnerTokenList */
        RunnerTokenList: {
            /** Items */
            items: components["schemas"]["RunnerTokenItem"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** SaveFlowBody */
        SaveFlowBody: {
            /** Definition */
            definition: {
                [key: string]: unknown;
            };
            /** Base Revision */
            base_revision: number;
            /** Message */
            message?: string | null;
            /** Name */
            name?: string | null;
            /** Description */
            description?: string | null;
        };
        /** SecretBody */
        SecretBody: {
            /** Value */
            value: string;
        };
        /** SecretList */
        SecretList: {
            /** Items */
            items: components["schemas"]["SecretView"][];
        };
        /**
         * SecretView
         * @description A secret as users see it: its name and dates, never its value.
         */
        SecretView: {
            /** Name */
            name: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /** SettingsDiffOut */
        SettingsDiffOut: {
            /** Changed */
            changed: string[];
        };
        /** SignupRequest */
        SignupRequest: {
            /** Email */
            email: string;
            /**
             * Password
             * @description At least 8 characters
             */
            password: string;
            /** Name */
            name: string;
            /** Organization */
            organization: string;
        };
        /**
         * StepStatus
         * @description Where one step (one visit of one node) is.
         * @enum {string}
         */
        StepStatus: "running" | "succeeded" | "failed" | "skipped" | "cancelled";
        /** StepView */
        StepView: {
            /** Node Id */
            node_id: string;
            status: components["schemas"]["StepStatus"];
            /** Visit */
            visit?: number | null;
            /**
             * Iteration
             * @description The foreach item's index; one index per loop inside nested loops
             */
            iteration?: number | number[] | null;
            /** Attempts */
            attempts: number;
            /** Input */
            input?: unknown;
            /** Output */
            output?: unknown;
            /** Error */
            error?: components["schemas"]["ErrorInfo"] | null;
            /** Port */
            port?: string | null;
            /**
             * Reused
             * @default false
             */
            reused?: boolean;
            /** Started At */
            started_at?: string | null;
            /** Finished At */
            finished_at?: string | null;
        };
        /** SubflowRequest */
        SubflowRequest: {
            /** Parent Execution Id */
            parent_execution_id: string;
            /** Parent Attempt */
            parent_attempt: number;
            /** Node Id */
            node_id: string;
            /** Flow Id */
            flow_id: string;
            /** Input */
            input?: unknown;
            /**
             * Request Key
             * @description Chosen by the runner per node attempt: a retried request starts no second child
             */
            request_key: string;
        };
        /** SubflowStarted */
        SubflowStarted: {
            /** Execution Id */
            execution_id: string;
            /** Depth */
            depth: number;
        };
        /** SubflowState */
        SubflowState: {
            /** Execution Id */
            execution_id: string;
            status: components["schemas"]["ExecutionStatus"];
            /** Ended */
            ended: boolean;
            /** Output */
            output?: unknown;
            /** Error */
            error?: {
                [key: string]: unknown;
            } | null;
        };
        /** TokenCreate */
        TokenCreate: {
            /** Name */
            name: string;
            /** Expires At */
            expires_at?: string | null;
        };
        /**
         * TokenView
         * @description A personal API token as listed: never its secret.
         */
        TokenView: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Created At */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
            /** Last Used At */
            last_used_at: string | null;
        };
        /** TriggerCreate */
        TriggerCreate: {
            /**
             * Type
             * @description schedule, webhook, s3, git, form, amqp, redis_stream, postgres_notify, nats or mqtt
             */
            type: string;
            /** Config */
            config?: {
                [key: string]: unknown;
            };
            /**
             * Enabled
             * @default true
             */
            enabled?: boolean;
        };
        /** TriggerOut */
        TriggerOut: {
            /** Id */
            id: string;
            /** Flow Id */
            flow_id: string;
            /**
             * Type
             * @enum {string}
             */
            type: "schedule" | "webhook" | "s3" | "git" | "form" | "amqp" | "redis_stream" | "postgres_notify" | "nats" | "mqtt";
            /** Config */
            config: {
                [key: string]: unknown;
            };
            /** Enabled */
            enabled: boolean;
            /**
             * Public
             * @description a webhook that anyone may call (no token, no HMAC); every form is public
             */
            public: boolean;
            /**
             * Hook Url Path
             * @description where a webhook trigger listens, or where a form trigger's page is served
             */
            hook_url_path: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            state: components["schemas"]["TriggerState"];
        };
        /** TriggerState */
        TriggerState: {
            /** Last Fired At */
            last_fired_at: string | null;
            /** Next Fire At */
            next_fire_at: string | null;
            /** Cursor */
            cursor: {
                [key: string]: unknown;
            } | null;
            /** Owner */
            owner: string | null;
            /** Lease Expires At */
            lease_expires_at: string | null;
            /** Last Error */
            last_error: string | null;
            /** Error Count */
            error_count: number;
            /** Healthy */
            healthy?: boolean | null;
            /** Last Event At */
            last_event_at?: string | null;
            /** Events Total */
            events_total?: number | null;
            /** Rejected Total */
            rejected_total?: number | null;
        };
        /**
         * TriggerUpdate
         * @description A partial update: `config` replaces the whole config (validated again); the type of a
         *     trigger never changes.
         */
        TriggerUpdate: {
            /** Config */
            config?: {
                [key: string]: unknown;
            } | null;
            /** Enabled */
            enabled?: boolean | null;
        };
        /** UserCreate */
        UserCreate: {
            /** Email */
            email: string;
            /** Name */
            name: string;
            /**
             * Password
             * @description At least 8 characters
             */
            password: string;
            role: components["schemas"]["Role"];
        };
        /** UserUpdate */
        UserUpdate: {
            /** Name */
            name?: string | null;
            role?: components["schemas"]["Role"] | null;
            /** Password */
            password?: string | null;
        };
        /** UserView */
        UserView: {
            /** Id */
            id: string;
            /** Email */
            email: string;
            /** Name */
            name: string;
            role: components["schemas"]["Role"];
            /** Created At */
            created_at: string;
        };
        /** ValidateBody */
        ValidateBody: {
            /** Definition */
            definition: {
                [key: string]: unknown;
            };
        };
        /** ValidationOut */
        ValidationOut: {
            /** Valid */
            valid: boolean;
            /** Warnings */
            warnings: components["schemas"]["ProblemItem"][];
        };
        /** VariableBody */
        VariableBody: {
            /** Value */
            value: unknown;
        };
        /** VariableList */
        VariableList: {
            /** Items */
            items: components["schemas"]["VariableView"][];
        };
        /** VariableView */
        VariableView: {
            /** Name */
            name: string;
            /** Value */
            value: unknown;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /**
         * ProblemError
         * @description One cause of a problem: where (`loc`, as a path into the request) and what.
         */
        ProblemError: {
            /** Loc */
            loc: (string | number)[];
            /** Msg */
            msg: string;
            /**
             * Node Id
             * @description The node, in a flow definition
             * @default null
             */
            node_id?: string | null;
            /**
             * Field
             * @description The node's config field
             * @default null
             */
            field?: string | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * Problem
         * @description An error answer (RFC 9457 problem+json), as `problem` renders it. Some errors add
         *     fields of their own (a save refused as stale carries `current_revision`).
         */
        Problem: {
            /**
             * Type
             * @description https://flomation.dev/problems/<slug>
             */
            type: string;
            /** Title */
            title: string;
            /** Status */
            status: number;
            /** Detail */
            detail: string;
            /**
             * Errors
             * @default null
             */
            errors?: components["schemas"]["ProblemError"][] | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * ExecutionChangedEvent
         * @description The execution changed (requested, claimed, cancel requested, requeued, ended).
         */
        ExecutionChangedEvent: {
            /** Seq */
            seq: number;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event: "execution";
            data: components["schemas"]["ExecutionSummary"];
        };
        /**
         * ExecutionEndEvent
         * @description The last event of the stream: the execution as it ended.
         */
        ExecutionEndEvent: {
            /** Seq */
            seq: number;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event: "end";
            data: components["schemas"]["ExecutionSummary"];
        };
        /**
         * LogEvent
         * @description A log line of the execution.
         */
        LogEvent: {
            /** Seq */
            seq: number;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event: "log";
            data: components["schemas"]["LogView"];
        };
        /**
         * StepEvent
         * @description A step began, retried or ended: the step as it is now.
         */
        StepEvent: {
            /** Seq */
            seq: number;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            event: "step";
            data: components["schemas"]["StepView"];
        };
        ExecutionStreamEvent: components["schemas"]["StepEvent"] | components["schemas"]["LogEvent"] | components["schemas"]["ExecutionChangedEvent"] | components["schemas"]["ExecutionEndEvent"];
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    request_execution: {
        parameters: {
            query?: never;
            header?: {
                "Idempotency-Key"?: string | null;
            };
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ExecutionRequest"] | null;
            };
        };
        responses: {
            /** @description The execution an earlier request with this key made */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_executions: {
        parameters: {
            query?: {
                flow_id?: string | null;
                status?: components["schemas"]["ExecutionStatus"] | null;
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_ExecutionSummary_"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_execution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    cancel_execution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CancelAccepted"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    retry_execution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["RetryRequest"] | null;
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    validate_flow_definition: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ValidateBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ValidationOut"];
                };
            };
            /** @description Every problem of the definition, with its location */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_node_types: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NodeTypesOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_flows: {
        parameters: {
            query?: {
                /** @description Name contains */
                q?: string | null;
                include_archived?: boolean;
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FlowPage"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    create_flow: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateFlowBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FlowOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_flow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FlowOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    save_flow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SaveFlowBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FlowOut"];
                };
            };
            /** @description `base_revision` is not current: `current_revision` says */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    archive_flow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_flow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PatchFlowBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FlowOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_flow_revisions: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RevisionPage"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_flow_revision: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
                revision: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RevisionOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    diff_flow_revisions: {
        parameters: {
            query: {
                from: number;
                to: number;
            };
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DiffOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    restore_flow_revision: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
                revision: number;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["RestoreBody"] | null;
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FlowOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_runner_tokens: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerTokenList"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    create_runner_token: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RunnerTokenCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerTokenCreated"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    revoke_runner_token: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                token_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_runners: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunnerList"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_runner: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runner_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MeView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_tokens: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_TokenView_"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    create_token: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TokenCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedToken"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    revoke_token: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                token_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_users: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_UserView_"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    create_user: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_organization: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrganizationView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_organization: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OrganizationUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrganizationView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_variables: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VariableList"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_variable: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VariableView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    put_variable: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VariableBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VariableView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_variable: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_secrets: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretList"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    put_secret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SecretBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_secret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_connection_types: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionTypeView"][];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_openapi_services: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImportedServiceSummary"][];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    import_openapi_service: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OpenApiImportBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImportedServiceView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_openapi_service: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImportedServiceView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_openapi_service: {
        parameters: {
            query?: {
                force?: boolean;
            };
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_connections: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_ConnectionView_"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_connection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    put_connection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConnectionBody"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionView"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_connection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_flow_triggers: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 500 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string | null;
            };
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_TriggerOut_"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    create_trigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                flow_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TriggerCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TriggerOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_trigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trigger_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TriggerOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_trigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trigger_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_trigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                trigger_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TriggerUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TriggerOut"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthResult"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    signup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SignupRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthResult"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_register: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RegisterResponse"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_claim: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ClaimRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ClaimResponse"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_heartbeat: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["HeartbeatRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HeartbeatResponse"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_events: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReportRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportResponse"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_complete: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CompleteRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportResponse"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_release: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReleaseRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_goodbye: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GoodbyeRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_start_subflow: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubflowRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubflowStarted"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_subflow_state: {
        parameters: {
            query?: {
                wait_s?: number;
            };
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubflowState"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_probe_result: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                probe_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProbeResult"];
            };
        };
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    runner_refresh_connection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConnectionRefreshRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ClaimedConnection"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    stream_execution_events: {
        parameters: {
            query?: never;
            header?: {
                "Last-Event-ID"?: string | null;
            };
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Server-Sent Events; each message is one `ExecutionStreamEvent` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["ExecutionStreamEvent"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    test_connection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ConnectionTestBody"] | null;
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionTestResult"];
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    start_connection_oauth: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description To the provider's authorization page */
            302: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    oauth_callback: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Back to the editor's Connections page */
            302: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: string;
                    };
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    call_webhook_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description accepted: {execution_id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    call_webhook_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description accepted: {execution_id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    call_webhook_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description accepted: {execution_id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    call_webhook_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description accepted: {execution_id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    call_webhook_patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description accepted: {execution_id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    show_form: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the form's HTML page */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    submit_form: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML thank-you page, or the flow's output (respond: sync) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description accepted (JSON clients): {execution_id} */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The request cannot be served as it is */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The server failed */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}
