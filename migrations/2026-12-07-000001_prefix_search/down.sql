DROP FUNCTION beacon_search_query(text);
