DROP INDEX resources_facets;
