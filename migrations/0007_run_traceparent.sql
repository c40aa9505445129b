CREATE TABLE `run_tags` (
	`tag_key` text NOT NULL,
	`tag_value` text NOT NULL,
	`created_at` integer NOT NULL,
	`run_id` text NOT NULL,
	PRIMARY KEY(`tag_key`, `tag_value`, `created_at`, `run_id`),
	FOREIGN KEY (`run_id`) REFERENCES `workflow_runs`(`run_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `run_tags_run_idx` ON `run_tags` (`run_id`);--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `traceparent` text;--> statement-breakpoint
INSERT INTO `run_tags` (`tag_key`, `tag_value`, `created_at`, `run_id`) SELECT j.key, j.value, r.created_at, r.run_id FROM `workflow_runs` r, json_each(r.tags) j;