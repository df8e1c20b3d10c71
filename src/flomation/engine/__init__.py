"""The flow engine: definition model and validation, expressions, executor and node types.

Pure: it imports no database, web, API, runner or Launch code (checked by a test).

Where to start:

- `validation.validate_definition(doc)` -> `ValidationReport` (every problem at once, as
  `{loc, msg, node_id?, field?}`), `validation.referenced_names(doc)` (the variables and
  secrets a runner needs); `nodes.flow.check_input(start_config, input)` for execution input.
- `nodes.registry.list_node_types()` for `GET /api/v1/node-types`.
- `plan.FlowPlan.from_document(doc)` once per revision, then per execution
  `executor.Executor(plan, services=..., sink=..., execution=..., variables=..., secrets=...)`
  and `await executor.run(input)` -> `ExecutionResult`; `executor.cancel()` to stop it;
  `prior=`/`from_node=` (see `executor.prior_from_steps`) to retry from a node.
- `events.ExecutionEvent` (ordered, `seq`), sinks (`EventSink`), and `ExecutionRecorder`,
  which folds events into the execution document of the API.
- `nodes.base`: the node interface (`NodeType`, `NodeContext`, `NodeOutcome`, the
  `NodeError` tree, `EngineServices`); see docs/writing-a-node-type.md.
"""
