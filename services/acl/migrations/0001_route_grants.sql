DROP INDEX "acl"."grants_account_subject_key";--> statement-breakpoint
DROP INDEX "acl"."grants_page_idx";--> statement-breakpoint
ALTER TABLE "acl"."grants" ADD COLUMN "resource" text DEFAULT 'account' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "grants_resource_subject_key" ON "acl"."grants" USING btree ("resource","account","subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "grants_resource_page_idx" ON "acl"."grants" USING btree ("resource","account","created_at","id");