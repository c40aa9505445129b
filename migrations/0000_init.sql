CREATE TABLE `step_executions` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`execution_index` integer NOT NULL,
	`status` text NOT NULL,
	`attempt` integer NOT NULL,
	`input` text NOT NULL,
	`output` text NOT NULL,
	`error` text,
	`started_at` integer,
	`completed_at` integer,
	`duration_ms` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `step_id`),
	FOREIGN KEY (`run_id`) REFERENCES `workflow_runs`(`run_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `step_executions_run_index_idx` ON `step_executions` (`run_id`,`execution_index`,`step_id`);--> statement-breakpoint
CREATE TABLE `step_outputs` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`output` text NOT NULL,
	PRIMARY KEY(`run_id`, `step_id`),
	FOREIGN KEY (`run_id`) REFERENCES `workflow_runs`(`run_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `workflow_runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`workflow_id` text NOT NULL,
	`workflow_version` text NOT NULL,
	`status` text NOT NULL,
	`progress` real NOT NULL,
	`input` text NOT NULL,
	`output` text NOT NULL,
	`error` text,
	`resource_id` text,
	`tags` text NOT NULL,
	`context` text NOT NULL,
	`idempotency_key` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer,
	`updated_at` integer NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`wake_at` integer,
	`cancel_requested_at` integer,
	`due_at` integer
);
--> statement-breakpoint
CREATE INDEX `workflow_runs_workflow_created_idx` ON `workflow_runs` (`workflow_id`,`created_at`,`run_id`);--> statement-breakpoint
CREATE INDEX `workflow_runs_status_created_idx` ON `workflow_runs` (`status`,`created_at`,`run_id`);--> statement-breakpoint
CREATE INDEX `workflow_runs_resource_created_idx` ON `workflow_runs` (`resource_id`,`created_at`,`run_id`);--> statement-breakpoint
CREATE INDEX `workflow_runs_created_idx` ON `workflow_runs` (`created_at`,`run_id`);--> statement-breakpoint
CREATE INDEX `workflow_runs_due_idx` ON `workflow_runs` (`due_at`,`created_at`,`run_id`) WHERE due_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `workflow_runs_retention_idx` ON `workflow_runs` (`completed_at`,`run_id`) WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE UNIQUE INDEX `workflow_runs_idempotency_idx` ON `workflow_runs` (`workflow_id`,`idempotency_key`);--> statement-breakpoint
CREATE TABLE `workflow_state` (
	`run_id` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `key`),
	FOREIGN KEY (`run_id`) REFERENCES `workflow_runs`(`run_id`) ON UPDATE no action ON DELETE cascade
);
