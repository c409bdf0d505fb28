-- How Beacon reads a search text: web-search syntax (websearch_to_tsquery:
-- "quoted phrases", -excluded, or), and a word of two letters or more
-- ending in * matches every word it begins, so a search box can answer as
-- its user types ("commun*" finds community and communities; a single
-- letter would ask for most of the corpus). One definition, used by every search
-- statement and by the server's in-memory index (which evaluates the
-- tsquery this prints). A text without such a word reads exactly as
-- websearch_to_tsquery reads it.
CREATE FUNCTION beacon_search_query(words text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN words !~ '(^|[^[:alnum:]_-])[[:alnum:]]{2,}\*' THEN websearch_to_tsquery('english', words)
    ELSE (
      SELECT CASE
               WHEN rest ~ '[[:alnum:]]' THEN websearch_to_tsquery('english', rest) && typed
               ELSE typed
             END
        FROM (SELECT regexp_replace(words, '(^|[^[:alnum:]_-])[[:alnum:]]{2,}\*', '\1', 'g') AS rest,
                     (SELECT to_tsquery('english', string_agg(quote_literal(m[1]) || ':*', ' & '))
                        FROM regexp_matches(words, '(?:^|[^[:alnum:]_-])([[:alnum:]]{2,})\*', 'g') AS m)
                       AS typed) AS parts)
  END
$$;
