CREATE TABLE `workflow_schedules` (
	`workflow_id` text PRIMARY KEY NOT NULL,
	`paused` integer NOT NULL,
	`last_tick_at` integer,
	`updated_at` integer NOT NULL
);
