CREATE TABLE `workflow_events` (
	`run_id` text NOT NULL,
	`name` text NOT NULL,
	`payload` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `name`),
	FOREIGN KEY (`run_id`) REFERENCES `workflow_runs`(`run_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `step_executions` ADD `wake_at` integer;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `waiting_for` text;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `retry_of` text;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `retried_by` text;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `concurrency_limit` integer;--> statement-breakpoint
CREATE INDEX `workflow_runs_slot_idx` ON `workflow_runs` (`workflow_id`,`resource_id`,`status`,`created_at`,`run_id`) WHERE resource_id IS NOT NULL;