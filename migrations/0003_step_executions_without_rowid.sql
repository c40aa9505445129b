DROP INDEX `step_executions_run_index_idx`;--> statement-breakpoint
-- Hand-written (drizzle-kit cannot express WITHOUT ROWID): the table is rebuilt with its rows stored in the
-- primary key's b-tree. Nothing references step_executions, so dropping the old table cascades nowhere.
CREATE TABLE `__new_step_executions` (
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
	`wake_at` integer,
	PRIMARY KEY(`run_id`, `step_id`),
	FOREIGN KEY (`run_id`) REFERENCES `workflow_runs`(`run_id`) ON UPDATE no action ON DELETE cascade
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_step_executions` (`run_id`, `step_id`, `execution_index`, `status`, `attempt`, `input`, `output`, `error`, `started_at`, `completed_at`, `duration_ms`, `created_at`, `updated_at`, `wake_at`) SELECT `run_id`, `step_id`, `execution_index`, `status`, `attempt`, `input`, `output`, `error`, `started_at`, `completed_at`, `duration_ms`, `created_at`, `updated_at`, `wake_at` FROM `step_executions`;--> statement-breakpoint
DROP TABLE `step_executions`;--> statement-breakpoint
ALTER TABLE `__new_step_executions` RENAME TO `step_executions`;
