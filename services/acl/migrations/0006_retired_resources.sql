CREATE TABLE "acl"."retired_resources" (
	"resource_id" uuid PRIMARY KEY NOT NULL,
	"retired_at" timestamp (3) with time zone NOT NULL
);
