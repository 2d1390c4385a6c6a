//! What the bot does with what people send it: a press of a message's
//! "Tangani" button asks the presser for a note in a reply; the reply
//! acknowledges the alert as the Ronda account the Telegram account is
//! linked to, audited like an acknowledgement on the web; `/link CODE` in a
//! private chat links the two accounts. Anyone else is refused, politely.

use jiff::Timestamp;

use super::api::{escape_html, CallbackQuery, Message, OutMessage, Update};
use super::Bot;
use crate::http::auth::Who;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::mail::config::Lang;
use crate::store::telegram as links;
use crate::store::users::{Role, User};

/// A button's data: this, then the alert's id.
pub const ACK: &str = "ack:";
/// How long a press waits for its reply.
const PROMPT_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);
/// The longest note taken, as on the web.
const MAX_NOTE: usize = 1000;

/// Act on one update. Errors are told to the person where they can be, and
/// logged; none stops the bot.
pub async fn handle(s: &AppState, bot: &Bot, update: Update) {
    let outcome = if let Some(q) = update.callback_query {
        press(s, bot, q).await
    } else if let Some(m) = update.message {
        message(s, bot, m).await
    } else {
        Ok(())
    };
    if let Err(e) = outcome {
        tracing::warn!(update = update.update_id, error = %e, "telegram update not handled");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("telegram: {0}")]
    Api(#[from] super::api::ApiError),
    #[error("store: {0}")]
    Store(#[from] crate::http::error::ApiError),
}

impl From<crate::store::StoreError> for UpdateError {
    fn from(e: crate::store::StoreError) -> Self {
        UpdateError::Store(e.into())
    }
}

impl From<crate::store::sql::Error> for UpdateError {
    fn from(e: crate::store::sql::Error) -> Self {
        UpdateError::Store(e.into())
    }
}

impl From<crate::store::users::UserError> for UpdateError {
    fn from(e: crate::store::users::UserError) -> Self {
        UpdateError::Store(e.into())
    }
}

/// A press of "Tangani": check who pressed, then ask for the note.
async fn press(s: &AppState, bot: &Bot, q: CallbackQuery) -> Result<(), UpdateError> {
    let lang = bot.lang;
    let alert = q
        .data
        .as_deref()
        .and_then(|d| d.strip_prefix(ACK))
        .and_then(|id| id.parse::<i64>().ok());
    let (Some(alert), Some(chat)) = (alert, q.message.as_ref().map(|m| (m.chat.id, m.message_id)))
    else {
        bot.api
            .answer_callback_query(
                &q.id,
                say(lang, "Tombol ini tidak dikenal.", "Unknown button."),
            )
            .await?;
        return Ok(());
    };
    let refusal = match account(s, q.from.id).await? {
        None => Some(say(lang, "Akun Telegram Anda belum ditautkan ke akun Ronda: buka halaman Telegram di dasbor Ronda.", "Your Telegram account is not linked to a Ronda account: open the Telegram page of the Ronda dashboard.")),
        Some(user) => may_acknowledge(s, lang, &user, alert).await?,
    };
    if let Some(why) = refusal {
        tracing::warn!(
            telegram_user = q.from.id,
            alert,
            why,
            "telegram press refused"
        );
        bot.api.answer_callback_query(&q.id, why).await?;
        return Ok(());
    }
    let who = q.from.username.as_deref().map_or_else(
        || escape_html(&q.from.first_name),
        |u| format!("@{}", escape_html(u)),
    );
    let ask = match lang {
        Lang::Id => {
            format!("{who}, balas pesan ini dengan catatan penanganan untuk peringatan #{alert}.")
        }
        Lang::En => {
            format!("{who}, reply to this message with a note on how alert #{alert} is handled.")
        }
    };
    let prompt = bot
        .api
        .send_message(&OutMessage {
            chat_id: chat.0,
            html: &ask,
            buttons: &[],
            reply_to: Some(chat.1),
            force_reply: true,
        })
        .await?;
    let now = Timestamp::now();
    let expires = now.checked_add(PROMPT_TTL).unwrap_or(now).as_millisecond();
    let (chat_id, from) = (chat.0, q.from.id);
    s.db.write(move |c| {
        links::prompt(
            c,
            chat_id,
            prompt,
            alert,
            from,
            expires,
            now.as_millisecond(),
        )
    })
    .await??;
    bot.api
        .answer_callback_query(
            &q.id,
            say(
                lang,
                "Balas pesan bot dengan catatan.",
                "Reply to the bot's message with a note.",
            ),
        )
        .await?;
    Ok(())
}

/// Why `user` may not acknowledge `alert`, if they may not: the web's rules.
async fn may_acknowledge(
    s: &AppState,
    lang: Lang,
    user: &User,
    alert: i64,
) -> Result<Option<&'static str>, UpdateError> {
    let office = s.reader.alert(alert).await?.map(|(a, _)| a.key.office);
    let allowed = matches!(user.role, Role::Admin | Role::It | Role::Head)
        && office.as_deref().is_some_and(|o| user.sees(o));
    Ok((!allowed).then_some(say(
        lang,
        "Akun Ronda Anda tidak boleh menangani peringatan ini.",
        "Your Ronda account may not acknowledge this alert.",
    )))
}

/// A message to the bot: a reply to a prompt, or `/link CODE`.
async fn message(s: &AppState, bot: &Bot, m: Message) -> Result<(), UpdateError> {
    let (Some(from), Some(text)) = (m.from.as_ref(), m.text.as_deref()) else {
        return Ok(());
    };
    if let Some(code) = text
        .strip_prefix("/link")
        .or_else(|| text.strip_prefix("/start"))
    {
        if m.chat.r#type == "private" {
            return link(s, bot, &m, from.id, code.trim()).await;
        }
        return Ok(());
    }
    let Some(to) = &m.reply_to_message else {
        return Ok(());
    };
    let now = Timestamp::now().as_millisecond();
    let (chat, asked, tg) = (m.chat.id, to.message_id, from.id);
    // Only the person who pressed may answer, and only once.
    let Some(alert) =
        s.db.write(move |c| links::answer(c, chat, asked, tg, now))
            .await??
    else {
        return Ok(());
    };
    let reply = acknowledge(s, bot, tg, alert, text).await?;
    bot.api
        .send_message(&OutMessage {
            chat_id: chat,
            html: &reply,
            buttons: &[],
            reply_to: Some(m.message_id),
            force_reply: false,
        })
        .await?;
    Ok(())
}

/// Acknowledge `alert` with `note` as the account `tg` is linked to; what
/// to tell them.
async fn acknowledge(
    s: &AppState,
    bot: &Bot,
    tg: i64,
    alert: i64,
    note: &str,
) -> Result<String, UpdateError> {
    let lang = bot.lang;
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE {
        return Ok(say(
            lang,
            "Catatan harus diisi, paling panjang 1000 karakter. Tekan Tangani lagi.",
            "A note is needed, at most 1000 characters. Press the button again.",
        )
        .into());
    }
    // Linked and allowed when pressed; checked again, since an account can
    // be disabled or unlinked in between.
    let Some(user) = account(s, tg).await? else {
        return Ok(say(
            lang,
            "Akun Telegram Anda tidak lagi tertaut.",
            "Your Telegram account is no longer linked.",
        )
        .into());
    };
    if let Some(why) = may_acknowledge(s, lang, &user, alert).await? {
        return Ok(why.into());
    }
    let who = Who::linked(user, format!("telegram:{tg}"));
    Ok(
        match crate::http::api::acknowledge(s, &who, alert, note.to_owned(), None).await {
            Ok(_) => match lang {
                Lang::Id => format!(
                    "Peringatan #{alert} ditangani oleh {}.",
                    escape_html(&who.user.name)
                ),
                Lang::En => format!(
                    "Alert #{alert} acknowledged by {}.",
                    escape_html(&who.user.name)
                ),
            },
            Err(e) => escape_html(&refused(lang, alert, e)),
        },
    )
}

/// `/link CODE` from `tg` in a private chat.
async fn link(
    s: &AppState,
    bot: &Bot,
    m: &Message,
    tg: i64,
    code: &str,
) -> Result<(), UpdateError> {
    let lang = bot.lang;
    let reply = if !bot.may_try_code(tg) {
        say(
            lang,
            "Terlalu banyak kode salah; coba lagi satu jam lagi.",
            "Too many wrong codes; try again in an hour.",
        )
        .to_owned()
    } else {
        let hash = super::link::hash(code);
        let now = Timestamp::now().as_millisecond();
        match s
            .db
            .write(move |c| links::redeem(c, &hash, tg, now))
            .await??
        {
            Some(user) => {
                let audit = format!("telegram user {tg} linked");
                let at = Timestamp::now().as_millisecond();
                let name = user.clone();
                s.db.write(move |c| {
                    crate::store::audit::append(
                        c,
                        Some(&name),
                        "telegram.link",
                        &audit,
                        Some(&format!("telegram:{tg}")),
                        at,
                    )
                })
                .await??;
                match lang {
                    Lang::Id => format!("Tertaut ke akun Ronda {}.", escape_html(&user)),
                    Lang::En => format!("Linked to the Ronda account {}.", escape_html(&user)),
                }
            }
            None => {
                bot.wrong_code(tg);
                say(
                    lang,
                    "Kode tidak dikenal atau sudah kedaluwarsa.",
                    "Unknown or expired code.",
                )
                .to_owned()
            }
        }
    };
    bot.api
        .send_message(&OutMessage {
            chat_id: m.chat.id,
            html: &reply,
            buttons: &[],
            reply_to: None,
            force_reply: false,
        })
        .await?;
    Ok(())
}

/// The enabled account `tg` is linked to.
async fn account(s: &AppState, tg: i64) -> Result<Option<User>, UpdateError> {
    let user =
        s.db.read(move |c| -> Result<_, crate::store::users::UserError> {
            let Some(name) = links::account_of(c, tg)? else {
                return Ok(None);
            };
            Ok(crate::store::users::account(c, &name)?.map(|(u, _)| u))
        })
        .await??;
    Ok(user.filter(|u| !u.disabled))
}

/// What to tell a person whose acknowledgement failed: the reason when it
/// is theirs to know, never the server's internals (those are logged).
fn refused(lang: Lang, alert: i64, e: ApiError) -> String {
    use ApiError as E;
    match e {
        E::Conflict(m) | E::BadRequest(m) | E::Forbidden(m) => m,
        E::NotFound => match lang {
            Lang::Id => format!("Peringatan #{alert} tidak ada."),
            Lang::En => format!("There is no alert #{alert}."),
        },
        E::Unavailable => e.to_string(),
        other => {
            tracing::error!(alert, error = %other, "acknowledgement from Telegram failed");
            say(
                lang,
                "Gagal sekarang; coba lagi dari dasbor.",
                "It failed; try again from the dashboard.",
            )
            .to_owned()
        }
    }
}

fn say(lang: Lang, id: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}
