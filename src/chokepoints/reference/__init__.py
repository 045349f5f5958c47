"""Reference data: countries, country groups, HS products and sector lists."""
