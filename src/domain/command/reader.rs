//! Building each command from its command line and field block, checking every value and
//! remembering what was understood, to echo it back.

use super::contact::{
    check_contact, describe_contact, invalid_address, read_contact, read_contact_parts,
};
use super::decline::{NotOnTheList, read_reason};
use super::fields::{
    Field, FieldLine, block_with_inline_field, field_named, first_paragraph, following_text,
};
use super::messages::{CommandError, Why};
use super::{Command, CommandKind, DealChanges, Language, LeadContact, Understood};
use crate::domain::address::EmailAddress;
use crate::domain::lead::Money;

/// Reads one command's arguments and remembers what it understood.
pub(super) struct Reader<'a> {
    pub(super) kind: CommandKind,
    pub(super) language: Language,
    /// The command line as written, for error messages.
    pub(super) line: &'a str,
    pub(super) understood: Vec<Understood>,
}

impl<'a> Reader<'a> {
    pub(super) fn read(
        &mut self,
        argument: &'a str,
        after: &[&'a str],
    ) -> Result<Command, CommandError> {
        use CommandKind::*;
        let (argument, lines) = block_with_inline_field(self.kind, argument, after);
        match self.kind {
            Accept => self.read_accept(&self.resolve(&lines)?),
            Edit => self.read_edit(&self.resolve(&lines)?),
            Decline => {
                let fields = self.resolve(&lines)?;
                self.read_decline(argument, lines.is_empty(), after, &fields)
            }
            Won => {
                let fields = self.resolve(&lines)?;
                let notes = self.text_of(&fields, Field::Notes);
                Ok(Command::Won { notes })
            }
            Lost => Ok(self.read_lost(&self.resolve(&lines)?)),
            AddContact => self.read_add_contact(argument, &self.resolve(&lines)?),
            Reject => self.read_reject(argument, &self.resolve(&lines)?),
            Register => self.read_registration(&lines),
            Answer | Info => self.read_free_text(argument, after),
            // These take no fields, but a field line after them is still a mistake to report.
            Favorite => self.resolve(&lines).map(|_| Command::Favorite),
            Unfavorite => self.resolve(&lines).map(|_| Command::Unfavorite),
            Approve => self.resolve(&lines).map(|_| Command::Approve),
            Status => Ok(Command::Status),
            List => Ok(Command::List),
            Help => Ok(Command::Help),
        }
    }

    /// Names each field line, refusing short labels the command does not take ("Budget:").
    /// An unknown label of more than three words is a sentence ("See you on Monday: …") and
    /// ends the block. Empty values are skipped: notifications may carry a block of blank
    /// fields to fill in.
    fn resolve(
        &self,
        lines: &[FieldLine<'a>],
    ) -> Result<Vec<(Field, FieldLine<'a>)>, CommandError> {
        const LONGEST_LABEL_WORDS: usize = 3;
        let mut fields = Vec::new();
        for line in lines {
            let field = match field_named(self.kind, line.label) {
                Some(field) => field,
                None if line.label.split_whitespace().count() > LONGEST_LABEL_WORDS => break,
                None => {
                    return Err(CommandError::UnknownField {
                        command: self.kind,
                        line: line.line.to_string(),
                    });
                }
            };
            if !line.value.is_empty() {
                fields.push((field, *line));
            }
        }
        Ok(fields)
    }

    /// Remembers a value read from `line`, to echo it back.
    fn echo(&mut self, field: Field, line: &str, written: &str, read_as: String) {
        self.understood.push(Understood {
            field: field.label(),
            line: line.to_string(),
            written: written.to_string(),
            read_as,
            money: None,
        });
    }

    /// The last value given for a free-text field, echoed as is.
    fn text_of(&mut self, fields: &[(Field, FieldLine<'_>)], wanted: Field) -> Option<String> {
        let (_, line) = fields.iter().rev().find(|(field, _)| *field == wanted)?;
        self.echo(wanted, line.line, line.value, line.value.to_string());
        Some(line.value.to_string())
    }

    fn bad_value(&self, field: Field, written: &str, why: Why, line: &str) -> CommandError {
        CommandError::BadValue {
            command: self.kind,
            field: field.label(),
            written: written.to_string(),
            reason: why.en,
            reason_fr: why.fr,
            line: line.to_string(),
        }
    }

    fn read_deal(
        &mut self,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<DealChanges, CommandError> {
        let mut deal = DealChanges::default();
        for (field, line) in fields {
            let text = Some(line.value.to_string());
            match field {
                Field::DealName => deal.name = text,
                Field::Timeframe => deal.timeframe = text,
                Field::Notes => deal.notes = text,
                Field::CrmId => deal.crm_id = text,
                Field::CampaignId => deal.campaign_id = text,
                Field::Value => {
                    let money = Money::parse(line.value, None).map_err(|error| {
                        let why = Why::new(error.to_string(), error.message_fr());
                        self.bad_value(*field, line.value, why, line.line)
                    })?;
                    self.echo(*field, line.line, line.value, money.to_string());
                    if let Some(echo) = self.understood.last_mut() {
                        echo.money = Some(money.clone());
                    }
                    deal.value = Some(money);
                    continue;
                }
                _ => continue,
            }
            self.echo(*field, line.line, line.value, line.value.to_string());
        }
        Ok(deal)
    }

    fn read_accept(&mut self, fields: &[(Field, FieldLine<'_>)]) -> Result<Command, CommandError> {
        let deal = self.read_deal(fields)?;
        let mut contacts = Vec::new();
        for (_, line) in fields.iter().filter(|(field, _)| *field == Field::Contact) {
            let contact = read_contact(line.value)
                .map_err(|reason| self.bad_value(Field::Contact, line.value, reason, line.line))?;
            self.echo(
                Field::Contact,
                line.line,
                line.value,
                describe_contact(&contact, self.language),
            );
            contacts.push(contact);
        }
        Ok(Command::Accept { deal, contacts })
    }

    fn read_edit(&mut self, fields: &[(Field, FieldLine<'_>)]) -> Result<Command, CommandError> {
        let deal = self.read_deal(fields)?;
        if deal.is_empty() {
            return Err(CommandError::NothingToEdit {
                line: self.line.to_string(),
            });
        }
        Ok(Command::Edit { deal })
    }

    /// The reason comes from a Reason line, the command line ("DECLINE 2", "REFUSER — trop
    /// gros pour nous") or, when the block has no field at all, the words right below the
    /// command. The partner's words are kept in the notes, before any Notes line; no reason
    /// at all (a pre-filled reply sent as is) reads as Other.
    fn read_decline(
        &mut self,
        argument: &str,
        block_is_empty: bool,
        after: &[&str],
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<Command, CommandError> {
        let reason_line = fields
            .iter()
            .rev()
            .find(|(field, _)| *field == Field::Reason);
        let below = if block_is_empty {
            first_paragraph(after)
        } else {
            String::new()
        };
        let (written, line) = match reason_line {
            Some((_, field_line)) => (field_line.value.to_string(), field_line.line.to_string()),
            None if !argument.is_empty() => (argument.to_string(), self.line.to_string()),
            None if !below.is_empty() => (below.clone(), below),
            None => (String::new(), self.line.to_string()),
        };
        let read = read_reason(&written).map_err(|NotOnTheList| CommandError::UnknownReason {
            written: written.clone(),
            line: line.clone(),
        })?;
        let label = match self.language {
            Language::En => read.reason.label(),
            Language::Fr => read.reason.label_fr(),
        };
        self.echo(
            Field::Reason,
            &line,
            &written,
            format!("{}. {label}", read.reason.number()),
        );
        let notes = match (read.words, self.text_of(fields, Field::Notes)) {
            (Some(words), Some(notes)) => Some(format!("{words} — {notes}")),
            (words, notes) => words.or(notes),
        };
        Ok(Command::Decline {
            reason: read.reason,
            notes,
        })
    }

    /// LOST keeps its reason in the notes: the life cycle records LOST with notes only.
    fn read_lost(&mut self, fields: &[(Field, FieldLine<'_>)]) -> Command {
        let reason = self.text_of(fields, Field::Reason);
        let notes = self.text_of(fields, Field::Notes);
        let notes = match (reason, notes) {
            (Some(reason), Some(notes)) => Some(format!("{reason} — {notes}")),
            (reason, notes) => reason.or(notes),
        };
        Command::Lost { notes }
    }

    /// CONTACT on one line ("CONTACT Jean Roy, +33 6 …, jean@client.test") and/or Name,
    /// Phone and Email lines; the lines complete or correct the one-line form.
    fn read_add_contact(
        &mut self,
        argument: &str,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<Command, CommandError> {
        let mut contact = LeadContact::default();
        if !argument.is_empty() {
            contact = read_contact_parts(argument)
                .map_err(|reason| self.bad_value(Field::Contact, argument, reason, self.line))?;
        }
        for (field, line) in fields {
            match field {
                Field::Name => contact.name = line.value.to_string(),
                Field::Phone => contact.phone = Some(line.value.to_string()),
                Field::Email => {
                    let email = EmailAddress::parse(line.value).map_err(|error| {
                        self.bad_value(*field, line.value, invalid_address(&error), line.line)
                    })?;
                    contact.email = Some(email.to_string());
                }
                _ => {}
            }
        }
        let (written, written_line) = if argument.is_empty() {
            let values: Vec<&str> = fields.iter().map(|(_, line)| line.value).collect();
            let lines: Vec<&str> = fields.iter().map(|(_, line)| line.line).collect();
            (values.join(", "), lines.join(" · "))
        } else {
            (argument.to_string(), self.line.to_string())
        };
        check_contact(&contact).map_err(|gap| CommandError::MissingField {
            command: self.kind,
            field: gap.wanted(),
            line: self.line.to_string(),
        })?;
        self.echo(
            Field::Contact,
            &written_line,
            &written,
            describe_contact(&contact, self.language),
        );
        Ok(Command::AddContact(contact))
    }

    fn read_reject(
        &mut self,
        argument: &str,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<Command, CommandError> {
        let reason = match self.text_of(fields, Field::Reason) {
            Some(reason) => reason,
            None if !argument.is_empty() => {
                self.echo(Field::Reason, self.line, argument, argument.to_string());
                argument.to_string()
            }
            None => {
                return Err(CommandError::MissingField {
                    command: self.kind,
                    field: "a reason",
                    line: self.line.to_string(),
                });
            }
        };
        Ok(Command::Reject { reason })
    }

    /// REGISTER keeps every `Field: value` line, in order, as written.
    fn read_registration(&mut self, lines: &[FieldLine<'_>]) -> Result<Command, CommandError> {
        let fields: Vec<(String, String)> = lines
            .iter()
            .filter(|line| !line.value.is_empty())
            .map(|line| (line.label.to_string(), line.value.to_string()))
            .collect();
        if fields.is_empty() {
            return Err(CommandError::MissingField {
                command: self.kind,
                field: "at least one `Field: value` line",
                line: self.line.to_string(),
            });
        }
        for (label, value) in &fields {
            self.understood.push(Understood {
                field: "Registration",
                line: format!("{label}: {value}"),
                written: format!("{label}: {value}"),
                read_as: format!("{label}: {value}"),
                money: None,
            });
        }
        Ok(Command::Register { fields })
    }

    /// ANSWER and INFO take the rest of the line and the text below it.
    fn read_free_text(&mut self, argument: &str, after: &[&str]) -> Result<Command, CommandError> {
        let below = following_text(after);
        let text = match (argument.is_empty(), below.is_empty()) {
            (true, _) => below,
            (false, true) => argument.to_string(),
            (false, false) => format!("{argument}\n{below}"),
        };
        let (field, command) = match self.kind {
            CommandKind::Answer => (
                "Answer",
                Command::Answer {
                    answer: text.clone(),
                },
            ),
            _ => (
                "Question",
                Command::Info {
                    question: text.clone(),
                },
            ),
        };
        if text.is_empty() {
            let needs = if field == "Answer" {
                "an answer"
            } else {
                "a question"
            };
            return Err(CommandError::MissingField {
                command: self.kind,
                field: needs,
                line: self.line.to_string(),
            });
        }
        self.understood.push(Understood {
            field,
            line: self.line.to_string(),
            written: text.clone(),
            read_as: text,
            money: None,
        });
        Ok(command)
    }
}
