CREATE TABLE "acl"."resource_names" (
	"resource" text NOT NULL,
	"name" text NOT NULL,
	"resource_id" uuid,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "resource_names_resource_name_pk" PRIMARY KEY("resource","name")
);
