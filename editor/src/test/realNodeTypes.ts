/** Node types as GET /node-types gives them (http, email.send, shell), for form tests. Regenerate with the API if they change. */
import type { NodeType } from '../api/models';

export const realTypes: Record<string, NodeType> = {
  http: {
    type: 'http',
    title: 'HTTP request',
    description:
      'Sends an HTTP request and returns the status, headers and body (parsed when JSON). An unexpected status fails the node.',
    icon: 'globe',
    group: 'integration',
    ports: ['success', 'error'],
    config_schema: {
      type: 'object',
      properties: {
        connection: {
          type: 'string',
          title: 'Connection (optional)',
          pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
          'x-template': false,
        },
        method: {
          enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
          default: 'GET',
          title: 'Method',
        },
        url: {
          type: 'string',
          title: 'URL',
          minLength: 1,
          description: 'With a connection, may be relative to its base URL.',
        },
        headers: {
          type: 'object',
          additionalProperties: {
            type: 'string',
          },
          title: 'Headers',
          description: 'Request headers; values are templates.',
        },
        query: {
          type: 'object',
          title: 'Query parameters',
          description: "Added to the URL's query string; values are templates.",
          additionalProperties: {
            type: ['string', 'number', 'boolean', 'null', 'array'],
            items: {
              type: ['string', 'number', 'boolean', 'null'],
            },
          },
        },
        json: {
          title: 'JSON body',
          description: 'Any JSON value, sent as the JSON body.',
        },
        body: {
          type: 'string',
          title: 'Text body',
          description: 'A text body (instead of the JSON body).',
        },
        timeout_s: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 3600,
          default: 30.0,
          title: 'Timeout (s)',
        },
        expect_status: {
          title: 'Expected status',
          description:
            'Any other status fails the node: a status (404), a range (200-299), a class (2xx) or a list of them.',
          'x-enum-labels': {
            '200-299': '2xx (success)',
            '100-599': 'Any status',
            '200-399': '2xx or 3xx',
            '200': '200 only',
          },
          anyOf: [
            {
              type: 'integer',
              minimum: 100,
              maximum: 599,
            },
            {
              type: 'string',
              minLength: 1,
            },
            {
              type: 'array',
              minItems: 1,
              items: {
                anyOf: [
                  {
                    type: 'integer',
                    minimum: 100,
                    maximum: 599,
                  },
                  {
                    type: 'string',
                    minLength: 1,
                  },
                ],
              },
            },
          ],
          default: '200-299',
        },
        follow_redirects: {
          type: 'boolean',
          default: true,
          title: 'Follow redirects',
        },
      },
      required: ['url'],
      additionalProperties: false,
    },
    output_schema: {
      type: 'object',
      properties: {
        status: {
          type: 'integer',
        },
        headers: {
          type: 'object',
          additionalProperties: {
            type: 'string',
          },
        },
        body: {},
      },
      required: ['status', 'headers', 'body'],
    },
    connection_types: ['http'],
    docs_url: 'docs/integrations/http.md',
  },
  'email.send': {
    type: 'email.send',
    title: 'Send email',
    description: 'Sends an email (text and/or HTML, with attachments) through an SMTP server.',
    icon: 'mail',
    group: 'email',
    ports: ['success', 'error'],
    config_schema: {
      type: 'object',
      properties: {
        connection: {
          type: 'string',
          title: 'Connection',
          pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
          'x-template': false,
        },
        to: {
          anyOf: [
            {
              type: 'string',
            },
            {
              type: 'array',
              items: {
                type: 'string',
                minLength: 1,
              },
            },
          ],
        },
        cc: {
          anyOf: [
            {
              type: 'string',
            },
            {
              type: 'array',
              items: {
                type: 'string',
                minLength: 1,
              },
            },
          ],
        },
        bcc: {
          anyOf: [
            {
              type: 'string',
            },
            {
              type: 'array',
              items: {
                type: 'string',
                minLength: 1,
              },
            },
          ],
        },
        subject: {
          type: 'string',
          default: '',
        },
        text: {
          type: 'string',
          title: 'Text body',
        },
        html: {
          type: 'string',
          title: 'HTML body',
        },
        attachments: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              filename: {
                type: 'string',
                minLength: 1,
              },
              content_base64: {
                type: 'string',
              },
              content_type: {
                type: 'string',
              },
            },
            required: ['filename', 'content_base64'],
            additionalProperties: false,
          },
        },
        timeout_s: {
          type: 'number',
          exclusiveMinimum: 0,
          default: 30.0,
        },
      },
      required: ['connection', 'to'],
      additionalProperties: false,
    },
    output_schema: {
      type: 'object',
      properties: {
        message_id: {
          type: 'string',
        },
        refused: {
          type: 'object',
          additionalProperties: {
            type: 'string',
          },
        },
      },
      required: ['message_id'],
    },
    connection_types: ['smtp'],
    docs_url: 'docs/integrations/email.md',
  },
  shell: {
    type: 'shell',
    title: 'Shell command',
    description:
      'Runs a command with /bin/sh in an isolated process. Values reach it through the templated env (the command itself is not a template). A non-zero exit fails the node unless allow_failure is set.',
    icon: 'terminal',
    group: 'code',
    ports: ['success', 'error'],
    config_schema: {
      type: 'object',
      properties: {
        command: {
          type: 'string',
          minLength: 1,
          'x-template': false,
          title: 'Command',
          description: 'Shell script, e.g. echo "$NAME". Not a template: use env.',
        },
        env: {
          type: 'object',
          propertyNames: {
            pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
          },
          additionalProperties: {
            type: ['string', 'number', 'boolean', 'null'],
          },
          title: 'Environment',
          description: 'Environment variables; values are templates.',
        },
        allow_failure: {
          type: 'boolean',
          default: false,
          title: 'Allow failure',
          description: 'A non-zero exit code succeeds (the output carries it) instead of failing the node.',
        },
        timeout_s: {
          title: 'Timeout (s)',
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 86400,
          default: 60.0,
          description: "Wall-clock limit; the runner's ceiling (default 900) caps it.",
        },
        memory_mb: {
          title: 'Memory (MB)',
          type: 'integer',
          minimum: 32,
          maximum: 65536,
          default: 512,
          description: "Memory limit; the runner's ceiling (default 1024) caps it.",
        },
      },
      required: ['command'],
      additionalProperties: false,
    },
    output_schema: {
      type: 'object',
      properties: {
        exit_code: {
          type: 'integer',
        },
        stdout: {
          type: 'string',
        },
        stderr: {
          type: 'string',
        },
      },
      required: ['exit_code', 'stdout', 'stderr'],
    },
    connection_types: [],
    docs_url: 'docs/flow-format.md#python-and-shell',
  },
};
