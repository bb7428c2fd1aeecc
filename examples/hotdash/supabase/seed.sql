-- Sample data for the demo and the tests (what "production has been running" looks like).
insert into public.agents (id, name, project) values
  ('00000000-0000-0000-0000-00000000a001', 'inventory-agent', 'occ'),
  ('00000000-0000-0000-0000-00000000a002', 'support-agent', 'occ'),
  ('00000000-0000-0000-0000-00000000a003', 'pricing-agent', 'hq')
on conflict do nothing;

insert into public.agent_approvals (agent_id, action, status) values
  ('00000000-0000-0000-0000-00000000a001', 'reorder SKU 4411', 'pending'),
  ('00000000-0000-0000-0000-00000000a002', 'refund order 1042', 'approved'),
  ('00000000-0000-0000-0000-00000000a003', 'raise price 3%', 'pending');

insert into public.product_categories (shopify_product_id, category_l1, category_l2, avg_order_value, margin_pct, inventory_velocity) values
  (1001, 'Apparel', 'Shirts', 42.50, 38.00, 'fast'),
  (1002, 'Apparel', 'Shoes', 88.00, 31.50, 'medium'),
  (1003, 'Home', 'Lamps', 65.00, 44.00, 'slow')
on conflict do nothing;

insert into public.customer_segments (segment, customers, revenue) values
  ('new', 120, 5400.00), ('returning', 340, 21950.00), ('vip', 25, 12800.00)
on conflict do nothing;

insert into public.facts (project, key, value) values
  ('occ', 'north_star', '{"error_rate_target": 0.005}'),
  ('occ', 'tiles', '{"count": 6}'),
  ('hq', 'budget', '{"q4": 120000}');

insert into public.observability_logs (level, source, message)
select case when g % 250 = 0 then 'ERROR' else 'INFO' end, 'rollup', 'nightly rollup step ' || g
from generate_series(1, 500) g;
