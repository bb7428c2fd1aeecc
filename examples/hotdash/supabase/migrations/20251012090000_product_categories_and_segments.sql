-- Catalogue analytics tables behind the dashboard tiles.
create table if not exists public.product_categories (
  shopify_product_id bigint primary key,
  category_l1 text not null,
  category_l2 text,
  avg_order_value numeric(12, 2),
  margin_pct numeric(5, 2),
  inventory_velocity text check (inventory_velocity in ('fast', 'medium', 'slow')),
  updated_at timestamptz not null default now()
);

create table if not exists public.customer_segments (
  id bigint generated always as identity primary key,
  segment text not null unique,
  customers integer not null default 0,
  revenue numeric(14, 2) not null default 0,
  updated_at timestamptz not null default now()
);

alter table public.product_categories enable row level security;
alter table public.customer_segments enable row level security;

create policy "categories readable by authenticated users"
  on public.product_categories for select
  to authenticated
  using (true);

create policy "segments readable by authenticated users"
  on public.customer_segments for select
  to authenticated
  using (true);
