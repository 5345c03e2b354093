-- What a request says beyond the customer's name and address, and what became of mail to
-- them (issue 11). customer_region and customer_company_size are in the first schema but
-- were never filled from free-form mail nor read back; with this migration the lead keeps:
--   customer_region        the country, spelled as profiles spell regions ("France")
--   customer_city          the city, from a form or the signature's address
--   customer_company_size  an employee count ("400") or a form's range ("50-249", "1000+")
--   referrer_note          a staff forward's own words above the customer's request
--   customer_email_failure why mail to the customer's address bounced, once it has
ALTER TABLE leads
    ADD COLUMN customer_city text,
    ADD COLUMN referrer_note text,
    ADD COLUMN customer_email_failure text;
