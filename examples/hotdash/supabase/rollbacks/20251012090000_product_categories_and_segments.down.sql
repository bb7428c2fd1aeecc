-- Undo 20251012090000_product_categories_and_segments.sql
drop table if exists public.customer_segments;
drop table if exists public.product_categories;
