ALTER TABLE `workflow_runs` ADD `webhook` text;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `webhook_due_at` integer;--> statement-breakpoint
CREATE INDEX `workflow_runs_webhook_due_idx` ON `workflow_runs` (`webhook_due_at`,`run_id`) WHERE webhook_due_at IS NOT NULL AND status IN ('COMPLETED', 'FAILED', 'CANCELLED');