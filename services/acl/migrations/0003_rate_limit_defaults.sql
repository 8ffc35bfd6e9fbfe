ALTER TABLE "acl"."rate_limit_windows" DROP CONSTRAINT "rate_limit_windows_limit_id_window_start_pk";--> statement-breakpoint
ALTER TABLE "acl"."rate_limits" ALTER COLUMN "subject_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "acl"."rate_limit_windows" ADD COLUMN "subject_id" uuid DEFAULT '00000000-0000-0000-0000-000000000000' NOT NULL;--> statement-breakpoint
ALTER TABLE "acl"."rate_limit_windows" ADD CONSTRAINT "rate_limit_windows_limit_id_window_start_subject_id_pk" PRIMARY KEY("limit_id","window_start","subject_id");
